"""Forecasts: a period's bookings (P10/P50/P90) per rep and in total vs rep commits, a backtest of
the forecast on past periods, and spend → bookings what-ifs."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from fairshare.forecast.backtest import BACKTEST_COLUMNS, Backtest
from fairshare.forecast.deals import DealForecast
from fairshare.forecast.history import DealHistory
from fairshare.forecast.pipeline import FORECAST_COLUMNS, PipelineForecast
from fairshare.periods import naive_utc

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

__all__ = ["BACKTEST_COLUMNS", "FORECAST_COLUMNS", "Backtest", "DealForecast", "PipelineForecast", "forecast",
           "results"]  # fmt: skip


def forecast(
    ws: Workspace,
    as_of: dt.datetime | str | None = None,
    period: str = "quarter",
    n_draws: int = 4000,
    level: float = 0.9,
    random_state: int | None = 0,
    calibrate: bool = True,
) -> tuple[DealForecast, Backtest | None]:
    """The deal forecast of the period open at `as_of`, its interval stretched by the backtest of the
    periods that had ended by then (`calibrate=False`: the `[forecast] interval_scale`), and that backtest."""
    history = DealHistory.of(ws)
    at = pd.Timestamp(naive_utc(as_of)) if as_of is not None else history.latest
    bt, scale = None, ws.definitions.forecast.interval_scale
    if calibrate:
        bt = Backtest(period=period, n_draws=min(n_draws, 2000), random_state=random_state)
        bt.fit(ws, history=history, until=at)
        scale = bt.scale_
    model = DealForecast(period=period, level=level, n_draws=n_draws, random_state=random_state,
                         interval_scale=scale)  # fmt: skip
    return model.fit(ws, as_of=at, history=history), bt


def results(ws: Workspace, upstream: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The `fairshare run` contract: {"forecast": the period open at the latest event, per rep and
    total; "forecast_backtest": every past period as it would have been forecast; "forecast_whatif":
    the next two periods with each channel's budget +20%}."""
    from fairshare.forecast.whatif import channel_whatifs

    model, bt = forecast(ws)
    backtest = bt.result_ if bt is not None else pd.DataFrame(columns=BACKTEST_COLUMNS)
    scale = bt.scale_ if bt is not None else ws.definitions.forecast.interval_scale
    whatif = channel_whatifs(ws, factor=1.2, as_of=model.as_of_, interval_scale=scale)
    return {"forecast": model.result_, "forecast_backtest": backtest, "forecast_whatif": whatif}
