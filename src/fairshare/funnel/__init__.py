"""The funnel area: stage conversion and velocity (`stages`), speed to lead, SLAs and stuck
pipeline (`sla`), both over the facts layer (`ws.facts`).

`results` is the `fairshare run` adapter: facts → Funnel and ServiceLevels → their tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from fairshare.facts.opportunities import size_band, size_band_labels
from fairshare.funnel.sla import (
    BREACH_COLUMNS,
    SLA_COLUMNS,
    SPEED_COLUMNS,
    STUCK_COLUMNS,
    ServiceLevels,
)
from fairshare.funnel.stages import BREAKDOWN_COLUMNS, DIMENSIONS, FUNNEL_COLUMNS, SEGMENT, Funnel

# Moved to leaf modules; still importable here for code written against the old funnel.py.
from fairshare.intervals import rate_interval
from fairshare.periods import naive_utc

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

__all__ = [
    "BREACH_COLUMNS", "BREAKDOWN_COLUMNS", "DIMENSIONS", "FUNNEL_COLUMNS", "SEGMENT", "SLA_COLUMNS",
    "SPEED_COLUMNS", "STUCK_COLUMNS", "Funnel", "ServiceLevels", "naive_utc", "rate_interval", "results",
    "size_band", "size_band_labels",
]  # fmt: skip


def results(ws: Workspace, upstream: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The `fairshare run` contract: funnel, funnel_breakdown (stages), sla, sla_breaches,
    stuck_pipeline, speed_to_lead (SLAs)."""
    fn = Funnel(ws)
    levels = ServiceLevels(fn)
    return {
        "funnel": fn.stages(),
        "funnel_breakdown": fn.breakdown(["channel", "campaign", "source_team", "segment", "rep"]),
        "sla": levels.table(),
        "sla_breaches": levels.breaches(),
        "stuck_pipeline": levels.stuck_pipeline(),
        "speed_to_lead": levels.speed_to_lead(),
    }
