"""`fairshare experiment design|analyze` and `fairshare contribution` from the command line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import fairshare.cli.contribution  # noqa: F401  (registers the commands)
from fairshare.cli import app

runner = CliRunner()


def test_design_writes_the_experiments_table_and_prints_power(tmp_path):
    units = tmp_path / "reps.csv"
    pd.DataFrame({"rep_id": [f"R{i}" for i in range(24)], "region": ["NA", "EMEA"] * 12}).to_csv(
        units, index=False
    )
    out = tmp_path / "experiments.csv"
    args = ["experiment", "design", "--units", str(units), "--unit-col", "rep_id", "--experiment-id", "coach",
            "--strata", "region", "--seed", "3", "--out", str(out), "--sd", "1000", "--effect", "900", "-f", "json"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    record = json.loads(res.output[res.output.index("{") :])
    assert record["units"] == 24 and 0 < record["power"] < 1 and record["mde_90"] > record["mde_80"]
    table = pd.read_csv(out)
    assert list(table.columns[:5]) == ["experiment_id", "unit_type", "unit_id", "arm", "assigned_at"]
    assert table.groupby(["region", "arm"]).size().eq(6).all()
    again = tmp_path / "again.csv"
    runner.invoke(app, [*args[: args.index("--out")], "--out", str(again)])
    pd.testing.assert_frame_equal(
        table.drop(columns="assigned_at"), pd.read_csv(again).drop(columns="assigned_at")
    )


def test_analyze_flat_file_with_clusters_and_covariates(tmp_path):
    rng = np.random.default_rng(0)
    reps = np.repeat(np.arange(30), 20)
    treated = np.isin(reps, rng.permutation(30)[:15])
    pre = rng.normal(100, 20, reps.size)
    y = pre + 15 * treated + rng.normal(0, 5, 30)[reps] + rng.normal(0, 10, reps.size)
    path = tmp_path / "leads.csv"
    pd.DataFrame(
        {"arm": np.where(treated, "program", "control"), "revenue": y, "pre": pre, "rep": reps}
    ).to_csv(path, index=False)
    res = runner.invoke(app, ["experiment", "analyze", "--units", str(path), "--arm", "arm", "--outcome", "revenue",
                              "--covariates", "pre", "--cluster", "rep", "--format", "json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = {r["method"]: r for r in json.loads(res.output)}
    adjusted, raw = rows["regression_adjustment"], rows["difference_in_means"]
    assert adjusted["ci_low"] <= 15 <= adjusted["ci_high"]
    assert adjusted["ci_high"] - adjusted["ci_low"] < raw["ci_high"] - raw["ci_low"]
    assert adjusted["n_clusters"] == 30 and adjusted["level"] == 0.9


def test_analyze_reports_user_errors_without_traceback(tmp_path):
    path = tmp_path / "u.csv"
    pd.DataFrame({"arm": ["a", "b"], "y": [1, 2]}).to_csv(path, index=False)
    res = runner.invoke(app, ["experiment", "analyze", "--units", str(path), "--outcome", "revenue"])
    assert res.exit_code == 1 and "not found" in res.output


@pytest.mark.slow
def test_contribution_command_on_a_simulated_workspace(tmp_path):
    from fairshare import Workspace
    from fairshare.simulate import SimulationConfig, simulate_with_truth

    world = simulate_with_truth(SimulationConfig(accounts=500), seed=9, scenarios=("marketing_off",))
    world.write(tmp_path / "company", format="parquet")
    ws = Workspace.init(tmp_path / "ws")
    ws.import_(tmp_path / "company")
    ws.close()
    toml = tmp_path / "ws" / "fairshare.toml"
    toml.write_text(toml.read_text().replace("level = 0.9 ", "level = 0.8 ").replace(
        "ae_baseline_win_factor = 0.3 ", "ae_baseline_win_factor = 0.2 "))  # fmt: skip
    res = runner.invoke(
        app, ["contribution", "--by", "all", "--format", "json", "--workspace", str(tmp_path / "ws")]
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    everything = pd.DataFrame(rows)
    assert (everything["level"] == 0.8).all()  # the definitions' [contribution] level
    assert everything["period"].eq("all history 2025-01-01..2025-12-31").all()
    for r in rows:  # the documented row shape, plus identified, strategies and period
        assert {
            "unit",
            "key",
            "estimate",
            "ci_low",
            "ci_high",
            "method",
            "identified",
            "strategies",
            "period",
        } <= set(r)
        assert all(
            {"name", "estimate", "ci_low", "ci_high", "identified", "reason"} <= set(s)
            for s in r["strategies"]
        )
    ae = everything.set_index("unit").loc["ae"]
    assert "ae_baseline_win_factor = 0.2" in ae["assumptions"]
    assert ae["method"] == "assumption" and next(r for r in rows if r["unit"] == "ae")["identified"] is False
    channels = [r for r in rows if r["unit"] == "channel"]
    assert len(channels) >= 4
    for r in channels:
        # no strategy identifies a channel here (the mix model finds no spend variation; the touch-dose spline
        # is reported, never identifying)
        naive = [s for s in r["strategies"] if s["name"].endswith("queue_displacement")]
        assert naive and not any(s["identified"] for s in r["strategies"])
        assert r["identified"] is False and r["method"] == "not_identified" and r["estimate"] is None
        # logical bounds: -won .. won (removing one channel can raise the others' revenue: displacement)
        assert r["ci_low"] == -r["ci_high"] and r["ci_high"] > 0 and "holdout" in r["proposal"]
    outbound = everything.set_index("unit").loc["sdr_outbound"]
    assert "panel_dml" in [s["name"] for s in outbound["strategies"]]


def test_no_marketing_note_says_what_was_found_and_what_to_map():
    from fairshare.contribution.table import NO_TOUCHES, no_marketing_reason

    assert no_marketing_reason({"touches_imported": 0, "channels": []}) == NO_TOUCHES
    unlinked = no_marketing_reason({"touches_imported": 8000, "channels": []})
    assert unlinked.startswith("8,000 touches imported") and "contact_id" in unlinked
    pull = no_marketing_reason({"touches_imported": 8000, "touches_on_accounts": 7900,
                                "channels": ["Direct Traffic", "Organic Search"]})  # fmt: skip
    assert "7,900 of 8,000 touches" in pull and "Direct Traffic, Organic Search" in pull
    assert "[channels.map]" in pull
