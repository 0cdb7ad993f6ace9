"""Result commands show the last run's stored table while data and definitions are unchanged."""

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from fairshare import Workspace, results
from fairshare.cli import app
from fairshare.config import CONFIG_NAME, definitions_hash

TINY = Path(__file__).resolve().parents[2] / "examples" / "tiny"


def _fake_run(ws: Workspace, version: int | None) -> None:
    """A results/ folder as `fairshare run` leaves it, with one recognisable reps row."""
    folder = ws.path / "results"
    folder.mkdir(exist_ok=True)
    pd.DataFrame({"rep_id": ["STORED-REP"], "team": ["AE"], "ability": [0.5]}).to_parquet(
        folder / "reps.parquet"
    )
    manifest = {"run_id": 7, "at": "2026-12-01T09:00:00", "tables": ["reps"], "data_version": version,
                "definitions_hash": definitions_hash(ws.path / CONFIG_NAME)}  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_reps_reads_the_stored_run_until_the_data_or_definitions_change(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    ws.import_(TINY)
    version = results.data_version(ws)
    assert version == 1
    _fake_run(ws, version)
    assert results.stored(ws, "reps").fresh
    ws.close()
    out = CliRunner().invoke(app, ["reps", "-w", str(tmp_path / "ws")])
    assert out.exit_code == 0, out.output
    assert "STORED-REP" in out.stdout and "results of run 7" in out.stderr

    with Workspace(tmp_path / "ws") as again:
        assert not results.stored(again, "contribution").fresh  # the run made no such table
        _fake_run(again, version - 1)  # fitted on older data
        assert results.stored(again, "reps").reason == "data imported since run 7"
        _fake_run(again, version)
        toml = again.path / CONFIG_NAME
        toml.write_text(toml.read_text() + "\n# edited\n")
        assert results.stored(again, "reps").reason == f"{CONFIG_NAME} changed since run 7"


def _store(ws: Workspace, tables: dict[str, pd.DataFrame]) -> None:
    folder = ws.path / "results"
    folder.mkdir(exist_ok=True)
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet")
    manifest = {"run_id": 8, "at": "2026-12-01T09:00:00", "tables": list(tables),
                "data_version": results.data_version(ws),
                "definitions_hash": definitions_hash(ws.path / CONFIG_NAME)}  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_scorecard_funnel_and_economics_read_the_stored_run(tmp_path):
    """The three once fitted again on every call; now they print the run's rows (recognisable values
    no fit of the tiny data gives) and fit only with --refit."""
    ws = Workspace.init(tmp_path / "ws")
    ws.import_(TINY)
    kpi = {"kpi": "bookings", "label": "Bookings", "value": 4242.0, "unit": "USD", "ci_low": None,
           "ci_high": None, "period": "2026-Q1", "previous_period": "2025-Q4", "previous_value": 1.0,
           "change": 4241.0, "definition": "", "source": "", "note": None}  # fmt: skip
    stage = {"stage": "STORED-STAGE", "position": 0, "cohort": "leads", "next_stage": "MQL", "entered": 77,
             "advanced": 1, "decided": 1, "rate": 0.5, "ci_low": 0.1, "ci_high": 0.9, "median_days": 1.0}  # fmt: skip
    _store(ws, {
        "scorecard": pd.DataFrame([kpi]),
        "funnel": pd.DataFrame([stage]),
        "funnel_breakdown": pd.DataFrame([{"dimension": "channel", "value": "STORED-CHANNEL", **stage}]),
        "economics": pd.DataFrame([{"dimension": "channel", "key": "STORED-KEY", "spend": 5.0},
                                   {"dimension": "source", "key": "OTHER-VIEW", "spend": 6.0}]),
    })  # fmt: skip
    ws.close()
    where = ["-w", str(tmp_path / "ws"), "--format", "json"]
    card = json.loads(CliRunner().invoke(app, ["scorecard", *where]).stdout)
    assert card["kpis"][0]["value"] == 4242.0 and card["period"] == "2026-Q1"
    assert card["previous_period"] == "2025-Q4"
    assert json.loads(CliRunner().invoke(app, ["funnel", *where]).stdout)[0]["entered"] == 77
    by = json.loads(CliRunner().invoke(app, ["funnel", "--by", "channel", *where]).stdout)
    assert [r["value"] for r in by] == ["STORED-CHANNEL"]
    econ = json.loads(CliRunner().invoke(app, ["economics", *where]).stdout)
    assert [r["key"] for r in econ] == ["STORED-KEY"]  # the channel view only

    refit = CliRunner().invoke(app, ["scorecard", "--refit", *where])
    assert refit.exit_code == 0, refit.output
    assert json.loads(refit.stdout)["kpis"][0]["value"] != 4242.0
    other = json.loads(CliRunner().invoke(app, ["funnel", "--level", "0.8", *where]).stdout)
    assert other[0]["stage"] != "STORED-STAGE"  # another level is not the run's: fitted now
