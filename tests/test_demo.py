"""`fairshare demo`, `fairshare serve`: the commands around the pipeline (models stubbed out for speed)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import fairshare.cli.serve as serve_cli
import fairshare.run
from fairshare.cli import app
from fairshare.run import Area


def _fast_area(ws, upstream):
    leads = ws.table("leads").select("lead_id").execute()
    return {"leads": leads.assign(value=1.0, p_win=0.1, value_per_hour=0.5)}


def test_demo_simulates_imports_runs_and_writes_the_report(tmp_path, monkeypatch):
    monkeypatch.setattr(fairshare.run, "AREAS", (Area("scoring", _fast_area, ("leads",)),))
    folder = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--accounts", "60", "--workspace", str(folder)])
    assert result.exit_code == 0, result.output
    assert f"fairshare serve --workspace {folder}" in result.output
    assert "report:" in result.output and (folder / "report.html").exists()
    assert (folder / serve_cli.DEMO_MARKER).exists()
    leads = pd.read_parquet(folder / "results" / "leads.parquet")
    assert len(leads) > 0 and (leads["value"] == 1.0).all()
    validation = pd.read_parquet(folder / "results" / "validation.parquet")
    assert validation.columns.tolist()[:3] == ["model", "check", "metric"]
    again = CliRunner().invoke(app, ["demo", "--accounts", "60", "--workspace", str(folder)])
    assert again.exit_code == 0, again.output  # a demo folder is rebuilt


def test_demo_refuses_a_folder_that_is_not_a_demo(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(app, ["demo", "--workspace", str(tmp_path / "mine")])
    assert result.exit_code == 1 and "not a demo workspace" in result.output
    assert (tmp_path / "mine" / "notes.txt").exists()


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                                ("0.0.0.0", False), ("example.com", False)])  # fmt: skip
def test_loopback_detection(host, loopback):
    assert serve_cli._is_loopback(host) is loopback


def test_serve_prints_a_one_off_token_when_none_is_configured(tmp_path, monkeypatch):
    import uvicorn

    from fairshare import Workspace

    calls = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, log_level: calls.update(app=app, host=host))
    monkeypatch.delenv("FAIRSHARE_API_TOKEN", raising=False)
    ws = Workspace.init(tmp_path / "ws")
    ws.import_(Path(__file__).resolve().parents[1] / "examples" / "tiny")  # serve needs a workspace with data
    ws.close()
    result = CliRunner().invoke(app, ["serve", "--workspace", str(ws.path)])
    assert result.exit_code == 0, result.output
    assert "one-off token" in result.output and calls["host"] == "127.0.0.1"
    token = result.output.split("one-off token for this server:")[1].split()[0]
    assert calls["app"].state.tokens.valid(token)
