"""Forecasts: this period's bookings from open pipeline and run-rate (P10/P50/P90) vs rep commits."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from fairshare.forecast.pipeline import FORECAST_COLUMNS, PipelineForecast

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

__all__ = ["FORECAST_COLUMNS", "PipelineForecast", "results"]


def results(ws: Workspace, upstream: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The `fairshare run` contract: {"forecast": this quarter as of the latest event, per rep and total}."""
    lookback = ws.definitions.forecast.lookback_days
    return {"forecast": PipelineForecast(rng=0, lookback_days=lookback).fit(ws).result_}
