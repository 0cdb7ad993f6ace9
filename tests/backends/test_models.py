"""The same models on every backend: each result equals DuckDB's on the same imported world.

Counts must be exact, money equal to the cent and rates to 1e-9 (one tolerance, 1e-9 relative
or absolute, covers both: the world's money is far below 1e7). Rows are compared after sorting
on every column, so the order a backend returns them in does not matter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairshare import economics, funnel, journeys, scorecard
from fairshare.attribution import workspace_paths

_REFERENCE: dict[str, dict[str, pd.DataFrame]] = {}


def _normal(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain dtypes, timestamps as naive UTC, rows in a canonical order."""
    out = frame.reset_index(drop=True).copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            out[col] = s.dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].astype("datetime64[us]")
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            out[col] = s.astype("float64")
        else:
            out[col] = s.map(
                lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
            )
    keys = sorted(out.columns)
    return out.sort_values(keys, na_position="first", kind="mergesort").reset_index(drop=True)


def assert_same(got: pd.DataFrame, want: pd.DataFrame, what: str) -> None:
    assert list(got.columns) == list(want.columns), f"{what}: columns differ"
    assert len(got) == len(want), f"{what}: {len(got)} rows, DuckDB has {len(want)}"
    pd.testing.assert_frame_equal(
        _normal(got), _normal(want), check_dtype=False, rtol=1e-9, atol=1e-9, obj=what
    )


def reference(duckdb_world, area: str, compute) -> dict[str, pd.DataFrame]:
    """`compute(ws)` on the DuckDB world, once per test session."""
    if area not in _REFERENCE:
        _REFERENCE[area] = compute(duckdb_world)
    return _REFERENCE[area]


def check(backend, duckdb_world, area: str, compute, skip: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
    """`compute` on `backend` equals `compute` on DuckDB, table by table (columns in `skip` aside)."""
    want = reference(duckdb_world, area, compute)
    got = compute(backend)
    assert set(got) == set(want)
    for name in want:
        assert_same(got[name].drop(columns=list(skip)), want[name].drop(columns=list(skip)), f"{area}.{name}")
    return got


def _touchpoints(ws) -> dict[str, pd.DataFrame]:
    return {
        "touchpoints": journeys.journeys(ws),
        "by_team_to_pipeline": journeys.journeys(ws, by="team", stage="pipeline"),
    }


def _path_tables(ws) -> dict[str, pd.DataFrame]:
    return {"paths": journeys.paths(ws), "paths_by_team": journeys.paths(ws, by="team", collapse=True)}


def test_journeys(backend, duckdb_world):
    got = check(backend, duckdb_world, "journeys", _touchpoints)
    assert len(got["touchpoints"]) > 100  # a world with journeys, not an empty comparison


def test_path_table(request, backend, duckdb_world):
    """Paths aggregated in the warehouse. Known gap: Ibis 12 cannot order `collect()` on PySpark
    (UnsupportedOperationError); the attribution inputs build paths from touchpoints instead."""
    if backend.con.name == "pyspark":
        request.applymarker(pytest.mark.xfail(strict=True, reason="ibis 12: no ordered collect() on PySpark"))
    got = check(backend, duckdb_world, "paths", _path_tables)
    assert got["paths"]["conversions"].sum() > 0


def test_attribution_inputs(backend, duckdb_world):
    def inputs(ws):
        return {
            "paths": workspace_paths(ws).to_frame(),
            "paths_by_team": workspace_paths(ws, by="team").to_frame(),
        }

    check(backend, duckdb_world, "attribution", inputs)


def test_funnel_and_slas(backend, duckdb_world):
    got = check(backend, duckdb_world, "funnel", funnel.results)
    assert got["funnel"]["entered"].iloc[0] > 0


def test_economics(backend, duckdb_world):
    check(backend, duckdb_world, "economics", economics.results)


def test_scorecard(backend, duckdb_world):
    """Every KPI equal; `source` is the SQL that computed it, in the warehouse's own dialect.

    The figures are identical, not merely close: money is published to the cent and every other
    figure to 1e-9, so a sum taken in another order (186.49999999999997 on Spark) reads the same."""
    got = check(backend, duckdb_world, "scorecard", scorecard.results, skip=("source",))
    assert len(got["scorecard"]) > 5
    numbers = ["value", "previous_value", "ci_low", "ci_high", "change"]
    mine = got["scorecard"].set_index("kpi")[numbers].sort_index()
    pd.testing.assert_frame_equal(mine, _REFERENCE["scorecard"]["scorecard"].set_index("kpi")[numbers].sort_index(),
                                  check_exact=True)  # fmt: skip
    money = mine[(got["scorecard"].set_index("kpi")["unit"] == "USD").sort_index()]
    cents = money.stack().dropna() * 100
    assert len(cents) > 5 and ((cents - cents.round()).abs() < 1e-6).all()
    sql = got["scorecard"]["source"].str.startswith("WITH").fillna(False)
    assert sql.any()
    quote = "`" if backend.con.name == "pyspark" else '"'
    assert got["scorecard"]["source"][sql].str.contains(quote, regex=False).all()
