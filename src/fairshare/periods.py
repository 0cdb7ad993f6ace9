"""Time in fairshare: units, naive UTC times, and the reporting period calendar.

The warehouse stores naive UTC times. Ibis expressions measure durations in epoch seconds
(`HOUR_SECONDS`, `DAY_SECONDS`); pandas code measures them as Timedeltas (`ONE_DAY`).
Periods (month, quarter, year) start on calendar boundaries; `all` is the whole data.
"""

from __future__ import annotations

import datetime as dt

import ibis.expr.types as ir
import pandas as pd

HOUR_SECONDS = 3600.0
DAY_SECONDS = 86400.0
ONE_DAY = pd.Timedelta(days=1)

PERIODS = ("quarter", "month", "year", "all")


def naive_utc(at: dt.datetime | str) -> dt.datetime:
    """`at` as a naive UTC datetime (the warehouse stores naive UTC; a time without zone is UTC)."""
    ts = pd.Timestamp(at)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


def seconds(t: ir.TimestampValue) -> ir.FloatingValue:
    """Seconds since the epoch as a float (for differences between timestamps)."""
    return t.epoch_seconds().cast("float64")


def period_bounds(as_of: dt.datetime, period: str) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """(previous start, current start, current end) of the `period` containing `as_of`."""
    if period == "month":
        cur = dt.datetime(as_of.year, as_of.month, 1)
        step = 1
    elif period == "quarter":
        cur = dt.datetime(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1)
        step = 3
    elif period == "year":
        cur = dt.datetime(as_of.year, 1, 1)
        step = 12
    else:
        raise ValueError(f"unknown period {period!r}; known: {', '.join(PERIODS)}")

    def shift(d: dt.datetime, months: int) -> dt.datetime:
        m = d.year * 12 + d.month - 1 + months
        return dt.datetime(m // 12, m % 12 + 1, 1)

    return shift(cur, -step), cur, shift(cur, step)


def period_label(start: dt.datetime, period: str) -> str:
    """The period's name: 2026-03 (month), 2026-Q1 (quarter), 2026 (year), all."""
    if period == "month":
        return f"{start:%Y-%m}"
    if period == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if period == "year":
        return f"{start.year}"
    return "all"
