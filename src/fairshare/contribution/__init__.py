"""Incremental contribution in money (DML on the warehouse) and experiments on groups of reps, leads, accounts.

`results(ws, upstream)` is the `fairshare run` contract: it returns
`contribution` (incremental won revenue of marketing, each channel, SDR work, speed to lead and AE work),
`contribution_reconciliation` (incremental next to attributed and sourced revenue) and, when the
workspace's experiments table has rows, `experiment` (each arm's lift in won revenue per unit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from fairshare.contribution.experiments import ExperimentAnalysis, analyze, assign_arms, power
from fairshare.contribution.incremental import IncrementalEffect
from fairshare.contribution.table import CONTRIBUTION_COLUMNS, contribution_table

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

#: Settings of `fairshare run`: 5 folds, 150 trees, 3 repeated splits for the channel splines (~15 s for every
#: row on 3,000 accounts).
RUN_SETTINGS = {"n_folds": 5, "n_estimators": 150, "learning_rate": 0.06, "n_rep": 3}
#: `--full`: the smooth STACK.md learners (500 trees at learning rate 0.03), same folds and splits.
FULL_SETTINGS = {**RUN_SETTINGS, "n_estimators": 500, "learning_rate": 0.03}

__all__ = [
    "CONTRIBUTION_COLUMNS", "FULL_SETTINGS", "RUN_SETTINGS", "ExperimentAnalysis", "IncrementalEffect", "analyze", "assign_arms",
    "contribution", "contribution_table", "power", "results",
]  # fmt: skip


def contribution(
    ws: Workspace, level: float | None = None, settings: dict | None = None, random_state: int = 0
) -> pd.DataFrame:
    """The contribution table of a workspace: `table.contribution_table` triangulated with the SDR panel
    strategies and the marketing-mix model (`triangulate.triangulated_table`).

    The assumptions come from the definitions' `[contribution]` section; `level` overrides its level.
    """
    from fairshare.contribution.exposures import account_exposures, lead_exposures
    from fairshare.contribution.triangulate import triangulated_table

    accounts = account_exposures(ws)
    leads = lead_exposures(ws)
    assumptions = ws.definitions.contribution
    settings = settings if settings is not None else RUN_SETTINGS
    level = assumptions.level if level is None else level
    table = contribution_table(
        accounts, leads, level=level, first_contact_hours=ws.definitions.sla.first_contact_hours,
        settings=settings, random_state=random_state, assumptions=assumptions,
    )  # fmt: skip
    kw = {"level": level, "random_state": random_state, **settings}
    return triangulated_table(ws, table, accounts, kw, assumptions)


def results(ws: Workspace, upstream: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """`fairshare run`: contribution, contribution_reconciliation and (with experiment rows) experiment."""
    from fairshare.contribution.experiments import workspace_experiment
    from fairshare.contribution.reconcile import reconciliation

    table = contribution(ws)
    out = {"contribution": table, "contribution_reconciliation": reconciliation(table, upstream)}
    experiment = workspace_experiment(ws)
    if experiment is not None:
        out["experiment"] = experiment
    return out
