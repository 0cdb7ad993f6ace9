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
