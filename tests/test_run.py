"""`fairshare run`: areas in order with upstream tables, missing/failed areas logged, validation rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fairshare import Workspace
from fairshare.errors import AreaMissing
from fairshare.run import AREAS, Area, run
from fairshare.validation import validation_table

TINY = Path(__file__).parents[1] / "examples" / "tiny"


@pytest.fixture
def tiny_ws(tmp_path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    ws.import_(TINY)
    yield ws
    ws.close()


def _absent(ws, upstream):
    raise AreaMissing("no such data in this warehouse")


def _not_a_dict(ws, upstream):
    return [pd.DataFrame({"x": [1]})]


def test_areas_run_in_order_and_failures_are_logged(tiny_ws):
    seen = {}

    def first(ws, upstream):
        return {"alpha": pd.DataFrame({"x": [1, 2, 3]}), "empty": pd.DataFrame()}

    def second(ws, upstream):
        seen["upstream"] = sorted(upstream)
        return {"beta": upstream["alpha"].assign(y=lambda f: f.x * 2)}

    def broken(ws, upstream):
        raise ValueError("singular matrix")

    areas = (
        Area("first", first, ("alpha", "gamma")),
        Area("absent", _absent, ("nothing",)),
        Area("nofn", _not_a_dict, ("nothing",)),
        Area("broken", broken, ("delta",)),
        Area("second", second, ("beta",)),
    )
    stages = []
    manifest = run(
        tiny_ws, progress=lambda stage, done, total: stages.append((stage, done, total)), areas=areas
    )
    assert seen["upstream"] == ["alpha"]  # earlier tables reach later areas; a failed area adds nothing
    log = tiny_ws.result("run_log").set_index("area")
    assert log["status"].to_dict() == {"first": "ok", "absent": "missing", "nofn": "failed",
                                       "broken": "failed", "second": "ok"}  # fmt: skip
    assert "ValueError: singular matrix" in log.loc["broken", "message"]
    assert "did not return: gamma" in log.loc["first", "message"]
    assert "no such data" in log.loc["absent", "message"]
    assert "returned list, not a dict" in log.loc["nofn", "message"]
    assert tiny_ws.result("beta")["y"].tolist() == [2, 4, 6]
    assert set(manifest["tables"]) == {
        "alpha",
        "beta",
        "validation",
        "inputs",
        "run_log",
    }  # empty frame dropped
    inputs = tiny_ws.result("inputs").set_index("table")["rows"]
    assert inputs["accounts"] == 3 and inputs["opportunities"] == 2
    assert [s[0] for s in stages] == ["counting inputs", "first", "absent", "nofn", "broken", "second",
                                      "validation", "storing results"]  # fmt: skip
    assert stages[-1][1] == stages[-1][2]
    assert len(manifest["log"]) == 5


def test_full_run_on_the_tiny_example_never_crashes(tiny_ws):
    manifest = run(tiny_ws)
    log = tiny_ws.result("run_log").set_index("area")
    assert log.index.tolist() == [a.name for a in AREAS]
    # Every area runs on the tiny example (3 leads, 2 opportunities); contribution has no experiments,
    # and one activity note is too few to find themes in (missing data, not a failure).
    others = [a.name for a in AREAS if a.name != "notes"]
    assert (log.loc[others, "status"] == "ok").all(), log["message"].to_dict()
    assert log.loc["notes", "status"] == "missing" and "too few" in log.loc["notes", "message"]
    assert log.loc["contribution", "message"] == "did not return: experiment"
    assert all(log.loc[a, "message"] == "" for a in others if a != "contribution")
    funnel = tiny_ws.result("funnel").set_index("stage")
    assert funnel["entered"].tolist() == [3, 3, 2, 2, 2, 1]  # 3 leads, 2 opportunities, 1 won
    assert len(tiny_ws.result("scorecard")) > 0 and len(tiny_ws.result("leads")) == 3
    assert {"run_log", "validation", "inputs"} <= set(manifest["tables"])
    assert tiny_ws.results_manifest()["run_id"] == manifest["run_id"]


def test_run_command(tmp_path, monkeypatch):
    import fairshare.cli.serve  # noqa: F401  (registers the commands)
    import fairshare.run
    from fairshare.cli import app

    def broken(ws, upstream):
        raise RuntimeError("boom")

    areas = (
        Area("first", lambda ws, up: {"alpha": pd.DataFrame({"x": [1]})}, ()),
        Area("absent", _absent, ()),
    )
    monkeypatch.setattr(fairshare.run, "AREAS", areas)
    ws = Workspace.init(tmp_path / "ws")
    ws.import_(TINY)
    ws.close()
    result = CliRunner().invoke(app, ["run", "--workspace", str(ws.path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"area": "first"' in result.stdout and '"status": "missing"' in result.stdout
    assert "warning: absent" in result.output
    assert (ws.path / "results" / "alpha.parquet").exists()
    monkeypatch.setattr(fairshare.run, "AREAS", (*areas, Area("broken", broken, ())))
    failed = CliRunner().invoke(app, ["run", "--workspace", str(ws.path)])
    assert failed.exit_code == 1 and "RuntimeError: boom" in failed.output
    assert (ws.path / "results" / "alpha.parquet").exists()  # the others' results were stored
    bad = CliRunner().invoke(app, ["run", "--workspace", str(ws.path), "--truth", str(tmp_path / "nope")])
    assert bad.exit_code == 1 and "does not exist" in bad.output


def test_validation_against_truth():
    rng = np.random.default_rng(0)
    true_p = rng.uniform(0, 1, 300)
    results = {
        "contribution": pd.DataFrame({"unit": ["team", "team"], "key": ["marketing", "sdr"],
                                      "estimate": [100.0, 50.0], "ci_low": [80.0, 45.0], "ci_high": [120.0, 55.0]}),
        "leads": pd.DataFrame({"lead_id": range(300), "p_win": true_p + rng.normal(0, 0.05, 300)}),
        "reps": pd.DataFrame({"rep_id": list("abcdefgh"), "ability": [1, 2, 3, 4, 5, 6, 7, 8],
                              "wins": [5, 1, 4, 2, 8, 3, 7, 6], "leads": [10] * 8}),
        "lead_validation": pd.DataFrame({"model": ["lightgbm", "lightgbm", "logistic baseline", "logistic baseline"],
                                         "metric": ["roc_auc", "brier", "roc_auc", "brier"],
                                         "mean": [0.88, 0.13, 0.86, 0.12], "std": [0.01, 0.01, 0.01, 0.01],
                                         "fold_1": [0.88, 0.13, 0.86, 0.12]}),
    }  # fmt: skip
    truth = {
        "incremental": pd.DataFrame({"unit": ["marketing", "sdr"], "incremental_revenue": [110.0, 70.0]}),
        "leads": pd.DataFrame({"lead_id": range(300), "true_p_win": true_p}),
        "reps": pd.DataFrame({"rep_id": list("abcdefgh"), "true_skill": [1, 2, 3, 4, 5, 6, 7, 8]}),
    }
    v = validation_table(results, truth)
    by = v.set_index(["model", "metric"])
    assert by.loc[("contribution:marketing", "incremental_revenue"), "passed"]
    assert not by.loc[("contribution:sdr", "incremental_revenue"), "passed"]  # 70 outside [45, 55]
    assert by.loc[("contribution:sdr", "incremental_revenue"), "reference"] == 70.0
    rho = by.loc[("scoring:p_win", "spearman(p_win, true_p_win)")]
    assert rho["value"] > 0.9 and rho["passed"]
    reps = by.loc[("reps:ability", "spearman(ability, true_skill)")]
    assert reps["value"] == pytest.approx(1.0) and reps["reference"] < 0.9 and reps["passed"]
    cv = by.loc[("scoring:lightgbm", "roc_auc")]
    assert (
        cv["value"] == 0.88 and cv["reference"] == 0.86 and cv["check"] == "cross_validation" and cv["passed"]
    )
    assert not by.loc[("scoring:lightgbm", "brier"), "passed"]  # 0.13 > 0.12: lower is better
    assert pd.isna(by.loc[("scoring:logistic baseline", "roc_auc"), "reference"])
    assert validation_table({}, {}).columns.tolist() == ["model", "check", "metric", "value", "reference",
                                                         "passed", "source"]  # fmt: skip


def test_run_with_a_truth_folder(tiny_ws, tmp_path):
    def contribution(ws, upstream):
        return {"contribution": pd.DataFrame({"unit": ["team"], "key": ["marketing"], "estimate": [10.0],
                                              "ci_low": [5.0], "ci_high": [15.0]})}  # fmt: skip

    truth = tmp_path / "truth"
    truth.mkdir()
    pd.DataFrame({"unit": ["marketing"], "incremental_revenue": [12.0]}).to_parquet(
        truth / "incremental.parquet"
    )
    areas = (Area("contribution", contribution, ("contribution",)),)
    run(tiny_ws, truth_dir=truth, areas=areas)
    v = tiny_ws.result("validation")
    assert v["passed"].tolist() == [True] and v["reference"].tolist() == [12.0]
    with pytest.raises(FileNotFoundError):
        run(tiny_ws, truth_dir=tmp_path / "missing", areas=areas)
    shutil.rmtree(truth)
