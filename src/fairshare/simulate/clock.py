"""Simulated time: days since the start of the history as timestamps (a leaf every table writer uses)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


def timestamps(start: dt.date, t: np.ndarray) -> pd.Series:
    """Days since `start` (UTC midnight) → tz-aware UTC timestamps rounded to the second (NaN → NaT)."""
    t = np.asarray(t, dtype=float)
    secs = np.round(np.nan_to_num(t, nan=0.0) * 86400).astype(np.int64)
    values = np.datetime64(start.isoformat(), "s") + secs.astype("timedelta64[s]")
    values = np.where(np.isnan(t), np.datetime64("NaT", "s"), values)
    return pd.Series(pd.DatetimeIndex(values).tz_localize("UTC"))
