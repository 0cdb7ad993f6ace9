"""Picking single rows out of result tables in tests (imported by the top-level test modules)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def only_row(frame: pd.DataFrame, **where) -> pd.Series:
    """The one row of `frame` whose columns equal `where`; fails the test unless exactly one matches."""
    mask = np.ones(len(frame), bool)
    for k, v in where.items():
        mask &= (frame[k] == v).to_numpy()
    assert mask.sum() == 1, f"expected one row for {where}, got {mask.sum()}"
    return frame[mask].iloc[0]
