"""The simulated world is valid canonical data and deterministic per seed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairshare import schema
from fairshare.config import FunnelSettings
from fairshare.ingest import validate_folder
from fairshare.simulate import SimulationConfig, simulate


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_gives_byte_identical_files(tmp_path, fmt):
    cfg = SimulationConfig(accounts=200)
    simulate(cfg, seed=5).write(tmp_path / "a", format=fmt)
    simulate(cfg, seed=5).write(tmp_path / "b", format=fmt)
    simulate(cfg, seed=6).write(tmp_path / "c", format=fmt)
    a, b, c = _hashes(tmp_path / "a"), _hashes(tmp_path / "b"), _hashes(tmp_path / "c")
    assert f"touches.{fmt}" in a and f"truth/leads.{fmt}" in a
    assert a == b
    assert a[f"touches.{fmt}"] != c[f"touches.{fmt}"]


def test_tables_follow_the_schema(small_world):
    tables = small_world.tables
    assert list(tables) == list(schema.LOAD_ORDER)
    for name, frame in tables.items():
        t = schema.table(name)
        assert list(frame.columns) == t.column_names, name
        assert len(frame) > 0, name
        for col in t.columns:
            s = frame[col.name]
            if col.required:
                assert s.notna().all(), f"{name}.{col.name} has nulls"
            if col.enum:
                assert set(s.dropna()) <= set(col.enum), (
                    f"{name}.{col.name}: {set(s.dropna()) - set(col.enum)}"
                )
            if col.non_negative:
                assert (s.dropna() >= 0).all(), f"{name}.{col.name} negative"
            if col.dtype == "timestamp":
                assert str(s.dt.tz) == "UTC", f"{name}.{col.name} not UTC"
        for key in [t.key]:
            assert not frame.duplicated(list(key)).any(), f"{name}: duplicate key {key}"
        for group in t.one_of:
            assert frame[list(group)].notna().any(axis=1).all(), f"{name}: needs one of {group}"


def test_every_foreign_key_resolves(small_world):
    tables = small_world.tables
    for name, frame in tables.items():
        for col in schema.table(name).columns:
            if col.references:
                ref_table, ref_col = col.references
                values = set(frame[col.name].dropna())
                missing = values - set(tables[ref_table][ref_col])
                assert not missing, f"{name}.{col.name} → {ref_table}.{ref_col}: {sorted(missing)[:5]}"


def test_stage_timestamps_are_in_funnel_order(small_world):
    funnel = FunnelSettings()
    lc = small_world.tables["lifecycle"]
    lead_order = {s: i for i, s in enumerate(funnel.lead_stages)}
    lead_order[funnel.rejected_stage] = lead_order[funnel.accepted_stage]
    opp_order = {s: i for i, s in enumerate(funnel.opportunity_stages)}
    opp_order[funnel.won_stage] = opp_order[funnel.lost_stage] = len(funnel.opportunity_stages)
    for entity, order in (("lead", lead_order), ("opportunity", opp_order)):
        part = lc[lc.entity == entity].copy()
        assert set(part.stage) <= set(order), set(part.stage) - set(order)
        part["rank"] = part.stage.map(order)
        part = part.sort_values(["entity_id", "rank", "at"])
        later = part.groupby("entity_id")["at"].diff().dropna()
        assert (later >= pd.Timedelta(0)).all(), f"{entity} stages out of order"
    rejected = lc[lc.stage == funnel.rejected_stage]
    assert len(rejected) > 0 and rejected.reason.notna().all()
    opps = small_world.tables["opportunities"]
    closed = opps[opps.is_closed]
    assert (closed.closed_at >= closed.created_at).all()
    assert set(closed.stage) <= {funnel.won_stage, funnel.lost_stage}
    assert (closed.is_won == (closed.stage == funnel.won_stage)).all()
    assert opps[~opps.is_closed].closed_at.isna().all()


def test_world_has_the_promised_shape(small_world):
    t = small_world.tables
    channels = set(t["touches"].channel)
    assert {
        "paid_search",
        "paid_social",
        "content",
        "webinar",
        "email",
        "events",
        "organic",
        "direct",
    } <= channels
    assert set(t["leads"].source_team) == {"marketing", "sdr", "partner"}
    counts = t["contacts"].groupby("account_id").size()
    assert counts.min() >= 1 and counts.max() <= 6
    assert set(t["reps"].team) >= {"SDR", "AE"}
    assert set(t["activities"].prospecting.dropna()) >= {"cold_call", "referral"}
    assert t["activities"].notes.str.contains("pricing|budget", regex=True).any()
    assert (t["spend"].amount > 0).all()
    big = t["accounts"].set_index("account_id").employees
    opps = t["opportunities"].join(big, on="account_id")
    assert np.corrcoef(np.log(opps.employees), np.log(opps.amount))[0, 1] > 0.5
    assert set(t["experiments"].arm) == {"treatment", "control"}
    assert set(t["forecasts"].category) == {"commit", "best_case", "pipeline"}


def test_importer_accepts_the_files(tmp_path, small_world):
    for fmt in ("csv", "parquet"):
        out = small_world.write(tmp_path / fmt, format=fmt)
        report = validate_folder(out)
        assert report.problems == [], report.problems[:5]
        assert report.rows["touches"] == len(small_world.tables["touches"])


def test_config_rejects_unknown_keys_and_bad_scenarios():
    with pytest.raises(ValueError, match="extra"):
        SimulationConfig(acounts=10)
    with pytest.raises(ValueError, match="unknown channel"):
        simulate(SimulationConfig(accounts=50), scenario="channel_off:tv")
    with pytest.raises(ValueError, match="unknown scenario"):
        simulate(SimulationConfig(accounts=50), scenario="sales_off")
