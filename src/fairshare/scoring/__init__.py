"""Lead intelligence: point-in-time features, calibrated P(win), value, effort and reasons per lead.

`results(ws, upstream)` makes two tables for `fairshare run`:

- `leads`: one row per lead — lead_id, account_id, p_opportunity, p_win, expected_amount, value,
  value_low, value_high, effort_hours, value_per_hour, reasons, model — plus p_opportunity_at_arrival
  and p_win_at_arrival (the lead's quality from what was known when it arrived, before any sales
  work; out-of-fold for leads the model was trained on) used to rate reps net of lead quality;
- `lead_validation`: cross-validated metrics of the workspace's lead model (model, metric, mean,
  std, fold_1 … fold_5), empty when there are too few outcomes to cross-validate.

See docs/scoring.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fairshare.errors import AreaMissing
from fairshare.scoring.evaluate import evaluate_leads
from fairshare.scoring.features import SALES_RESPONSE, LeadFeatures, feature_columns, lead_outcomes
from fairshare.scoring.model import LEAD_COLUMNS, LeadScorer

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

#: Leads are scored as they stand this many days after they arrived (first response, early work count).
HORIZON_DAYS = 7.0
VALIDATION_COLUMNS = ["model", "metric", "mean", "std", *[f"fold_{i}" for i in range(1, 6)]]

__all__ = ["HORIZON_DAYS", "LEAD_COLUMNS", "LeadFeatures", "LeadScorer", "evaluate_leads", "lead_outcomes", "results",
           "score_workspace"]  # fmt: skip


def _stages(ws: Workspace) -> tuple[str, ...]:
    funnel = ws.definitions.funnel
    return tuple(dict.fromkeys([*funnel.lead_stages[1:], funnel.rejected_stage]))


def score_workspace(
    ws: Workspace, horizon_days: float = HORIZON_DAYS, random_state: int = 0
) -> tuple[LeadScorer, pd.DataFrame, pd.DataFrame]:
    """Fit the lead model on the workspace; returns (scorer, feature frame, lead table)."""
    con = ws.con
    lookback = ws.definitions.scoring.lookback_days
    features = LeadFeatures(horizon_days=horizon_days, lookback_days=lookback, stages=_stages(ws),
                            max_cells=ws.definitions.workspace.max_feature_cells).build(con)  # fmt: skip
    outcomes = workspace_outcomes(ws)
    scorer = LeadScorer(monotone=ws.definitions.scoring.monotone, random_state=random_state)
    return scorer.fit(features, outcomes), features, scorer.result_


def workspace_outcomes(ws: Workspace) -> pd.DataFrame:
    """`lead_outcomes` with the workspace's activity minutes (effort of activities without a duration)."""
    return lead_outcomes(ws.con, activity_minutes=ws.definitions.scoring.activity_minutes)


def arrival_quality(
    ws: Workspace, outcomes: pd.DataFrame | None = None, random_state: int = 0
) -> pd.DataFrame:
    """P(opportunity) and P(win) from what was known when each lead arrived, before any sales work.

    Leads the model trained on get out-of-fold estimates, so their own outcome never shapes them.
    Columns p_opportunity_at_arrival, p_win_at_arrival; indexed by lead_id.
    """
    con = ws.con
    lookback = ws.definitions.scoring.lookback_days
    features = LeadFeatures(
        horizon_days=0.0,
        lookback_days=lookback,
        sales_response=False,
        stages=_stages(ws),
        max_cells=ws.definitions.workspace.max_feature_cells,
    ).build(con)
    features = features.drop(columns=[c for c in SALES_RESPONSE if c in features])
    outcomes = workspace_outcomes(ws) if outcomes is None else outcomes
    scorer = LeadScorer(random_state=random_state).fit(features, outcomes)
    quality = scorer.result_.set_index("lead_id").loc[features.index, ["p_opportunity", "p_win"]]
    oof = scorer.out_of_fold()
    quality.loc[oof.index] = oof[["p_opportunity", "p_win"]]
    quality.index.name = features.index.name
    return quality.rename(columns=lambda c: f"{c}_at_arrival")


def workspace_validation(features: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """5-fold CV of the lead model on the workspace's resolved leads (empty if too few outcomes)."""
    data = features[feature_columns(features)].join(outcomes[["won", "resolved"]], how="inner")
    data = data[data["resolved"].astype(bool)].drop(columns="resolved")
    counts = np.bincount(data["won"].to_numpy(int), minlength=2)
    if len(data) < 50 or counts.min() < 10:
        return pd.DataFrame(columns=VALIDATION_COLUMNS)
    frame = evaluate_leads(data, "won", n_splits=5, calibration_cv=3, n_estimators=150)
    out = frame.reindex(columns=VALIDATION_COLUMNS)
    out.attrs = {}  # stored tables carry no side data
    return out


def results(ws: Workspace, upstream: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The `leads` and `lead_validation` tables of a run (`AreaMissing` when there are no leads)."""
    if int(ws.table("leads").count().execute()) == 0:
        raise AreaMissing("no leads in the warehouse: import leads.csv to score leads")
    scorer, features, leads = score_workspace(ws, horizon_days=ws.definitions.scoring.horizon_days)
    outcomes = workspace_outcomes(ws)
    arrival = arrival_quality(ws, outcomes)
    leads = leads.join(arrival, on="lead_id")
    return {"leads": leads, "lead_validation": workspace_validation(features, outcomes)}
