"""Which period a forecast is for: the one still open at `as_of`, or the next when it is nearly over."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from fairshare.periods import period_bounds, period_label


def forecast_period(
    as_of: dt.datetime | pd.Timestamp, period: str, min_remaining_days: float, ahead: int = 0
) -> tuple[str, dt.datetime, dt.datetime]:
    """(label, start, end) of the `period` containing `as_of`, or of the next one when fewer than
    `min_remaining_days` days of it are left (a forecast of a period that is all but over has
    nothing left to forecast: P10 = P50 = P90); `ahead` periods later when > 0."""
    at = pd.Timestamp(as_of).to_pydatetime()
    _, start, end = period_bounds(at, period)
    if (end - at) / dt.timedelta(days=1) < min_remaining_days:
        ahead += 1
    for _ in range(ahead):
        _, start, end = period_bounds(end, period)
    return period_label(start, period), start, end
