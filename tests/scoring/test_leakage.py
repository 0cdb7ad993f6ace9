"""Leakage on real exports: a column filled in only for converted leads (or holding the outcome) is
flagged and left out by `leads evaluate` and the lead scorer, named in a warning."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairshare.scoring.evaluate import evaluate_leads
from fairshare.scoring.features import leaky_columns


def _flat_export(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Like the public B2B funnel export: `segment` exists only for converted leads."""
    rng = np.random.default_rng(seed)
    employees = rng.lognormal(4, 1, n)
    won = (rng.random(n) < 1 / (1 + np.exp(-(np.log(employees) - 4.5)))).astype(int)
    return pd.DataFrame({
        "lead": [f"L{i}" for i in range(n)],
        "employees": employees,
        "industry": rng.choice(["saas", "retail", "health", "bank"], n),
        "city": [f"city{i}" for i in rng.integers(0, 250, n)],  # many values, no signal: not leaky
        "segment": np.where(won == 1, rng.choice(["smb", "mid", "ent"], n), None),
        "deal_stage_code": won * 7 + rng.integers(0, 2, n),  # the outcome in disguise
        "converted": won,
    })  # fmt: skip


def test_single_column_auc_flags_missingness_and_values_not_many_valued_columns():
    frame = _flat_export()
    found = leaky_columns(frame.drop(columns=["lead", "converted"]), frame["converted"].to_numpy())
    assert set(found) == {"segment", "deal_stage_code"}
    assert "filled in" in found["segment"] and "values" in found["deal_stage_code"]


def test_leads_evaluate_leaves_leaky_columns_out_by_default():
    frame = _flat_export()
    result = evaluate_leads(
        frame, "converted", id_column="lead", n_splits=3, calibration_cv=2, n_estimators=40
    )
    assert set(result.attrs["leaky"]) == {"segment", "deal_stage_code"}
    auc = result.set_index(["model", "metric"])["mean"]
    assert auc.xs("roc_auc", level="metric").max() < 0.95  # it scored 0.999 with the leaky columns in
    kept = evaluate_leads(frame, "converted", id_column="lead", n_splits=3, calibration_cv=2, n_estimators=40,
                          keep_leaky=True)  # fmt: skip
    assert kept.set_index(["model", "metric"])["mean"].xs("roc_auc", level="metric").max() > 0.97
