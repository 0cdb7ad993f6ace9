"""Sparse real-world workspaces: every area runs or says what is missing; no command prints a traceback."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fairshare import Workspace
from fairshare.errors import AreaMissing
from fairshare.run import run

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "examples" / "tiny"
COMMANDS = [
    ["scorecard"], ["funnel"], ["economics"], ["attribute", "--model", "all"], ["contribution"],
    ["leads", "score"], ["reps"], ["forecast"],
]  # fmt: skip


def _minimal(folder: Path) -> Path:
    """examples/tiny with only accounts, opportunities, reps and activities, no lead or contact ids."""
    folder.mkdir()
    for name in ("accounts", "reps"):
        (folder / f"{name}.csv").write_text((TINY / f"{name}.csv").read_text())
    contacts = pd.read_csv(TINY / "contacts.csv", dtype=str).set_index("contact_id")["account_id"]
    acts = pd.read_csv(TINY / "activities.csv", dtype=str, keep_default_na=False)
    acts["account_id"] = acts["contact_id"].map(contacts).fillna("")  # an activity needs some id
    acts[["contact_id", "lead_id"]] = ""
    acts.to_csv(folder / "activities.csv", index=False)
    opps = pd.read_csv(TINY / "opportunities.csv", dtype=str, keep_default_na=False)
    opps["lead_id"] = ""  # no leads imported
    opps.to_csv(folder / "opportunities.csv", index=False)
    return folder


def _maven(folder: Path, source: Path) -> Path:
    spec = importlib.util.spec_from_file_location(
        "maven_to_canonical", ROOT / "examples/maven/to_canonical.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write(module.to_canonical(source), folder)


@pytest.fixture(scope="module", params=["tiny", "minimal", "maven"])
def sparse(request, tmp_path_factory, reference_data) -> Workspace:
    root = tmp_path_factory.mktemp(request.param)
    folder = {
        "tiny": lambda: TINY,
        "minimal": lambda: _minimal(root / "in"),
        "maven": lambda: _maven(root / "in", reference_data("maven_crm_sales")),
    }[request.param]()
    ws = Workspace.init(root / "ws")
    ws.import_(folder)
    ws.close()
    return ws


def test_run_has_no_failed_area(sparse):
    manifest = run(sparse)
    failed = [f"{r['area']}: {r['message']}" for r in manifest["log"] if r["status"] == "failed"]
    assert failed == []
    missing = [r for r in manifest["log"] if r["status"] == "missing"]
    assert all(r["message"] for r in missing)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: "-".join(c))
def test_result_commands_print_json_or_a_one_line_error(sparse, command):
    import fairshare.cli.serve  # noqa: F401  (registers every command)
    from fairshare.cli import app

    res = CliRunner().invoke(app, [*command, "--format", "json", "--workspace", str(sparse.path)])
    output = res.stdout + res.stderr
    assert "Traceback" not in output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    if res.exit_code == 0:
        json.loads(res.stdout)
    else:
        assert res.exit_code == 1
        assert res.stderr.startswith("error:")
        assert len([line for line in res.stderr.splitlines() if line.startswith("error:")]) == 1


def test_scoring_without_leads_says_to_import_them(tmp_path):
    from fairshare.scoring import results

    ws = Workspace.init(tmp_path / "ws")
    ws.import_(_minimal(tmp_path / "in"))
    with pytest.raises(AreaMissing, match="no leads in the warehouse: import leads.csv"):
        results(ws, {})
    ws.close()


def test_tiny_leads_have_no_value_interval_and_say_why(tmp_path):
    from fairshare.scoring import results

    ws = Workspace.init(tmp_path / "ws")
    ws.import_(TINY)
    leads = results(ws, {})["leads"]
    ws.close()
    assert len(leads) == 3
    assert leads["value_low"].isna().all() and leads["value_high"].isna().all()
    assert (
        leads["model"].str.contains("no value interval").all()
        and (leads["model"] == "prior only; no value interval (1 resolved lead)").all()
    )
    assert np.isfinite(leads["value"]).all()


def test_reps_without_leads_use_the_pooled_observed_win_rate(tmp_path):
    from fairshare.reps import results

    ws = Workspace.init(tmp_path / "ws")
    ws.import_(_minimal(tmp_path / "in"))
    reps = results(ws, {})["reps"].set_index("rep_id")
    ws.close()
    # one closed opportunity (won): pooled observed win rate 1/1 -> expected wins of its owner = 1
    assert reps.loc["R2", "expected_wins"] == pytest.approx(1.0, abs=1e-3)
    assert reps["speed_to_lead_hours"].isna().all()
    assert reps["calls_per_day"].notna().any()
    assert reps["note"].str.contains("pooled observed win rate").any()


def test_forecast_without_lifecycle_rows_uses_the_pooled_curve_from_creation(tmp_path):
    from fairshare.forecast import PipelineForecast

    ws = Workspace.init(tmp_path / "ws")
    ws.import_(_minimal(tmp_path / "in"))
    model = PipelineForecast(random_state=0, n_draws=200).fit(ws)
    ws.close()
    assert model.open_["opportunity_id"].tolist() == ["O2"]
    assert (model.open_["curve"] == "creation").all() and model.open_["probability"].between(0, 1).all()
    assert model.result_.set_index("rep_id").loc["all", "booked_to_date"] == 48000


def test_forecast_without_opportunities_says_to_import_them(tmp_path):
    # import refuses a folder without opportunities (a required table) and, being the first import,
    # leaves no warehouse behind: the forecast says there is no data yet and what to run
    import fairshare.cli.serve  # noqa: F401  (registers every command)
    from fairshare.cli import app
    from fairshare.ingest import ImportFailed

    folder = _minimal(tmp_path / "in")
    (folder / "opportunities.csv").unlink()
    ws = Workspace.init(tmp_path / "ws")
    with pytest.raises(ImportFailed, match="missing required table 'opportunities'"):
        ws.import_(folder)
    ws.close()
    res = CliRunner().invoke(app, ["forecast", "--format", "json", "--workspace", str(ws.path)])
    assert res.exit_code == 1 and "no data in this workspace yet" in res.stderr
    assert "fairshare import FOLDER" in res.stderr and not (ws.path / "fairshare.duckdb").exists()
    assert "Traceback" not in res.stdout + res.stderr


def test_contribution_says_why_rows_are_not_estimated(tmp_path):
    from fairshare.contribution import contribution
    from fairshare.contribution.table import NO_TOUCHES

    tiny = Workspace.init(tmp_path / "tiny")
    tiny.import_(TINY)
    table = contribution(tiny).set_index(["unit", "key"])
    tiny.close()
    marketing = table.loc[("marketing", "all")]
    # nothing identifies marketing here: no number, the logical bounds, and why the naive fit was not made
    assert marketing["method"] == "not_identified" and np.isnan(marketing["estimate"])
    assert (marketing["ci_low"], marketing["ci_high"]) == (0.0, 48000.0)
    assert "a 5-fold DML fit needs at least 10" in marketing["assumptions"]
    assert table.loc[("ae", "all"), "method"] == "assumption"  # the rows it can give are still there

    minimal = Workspace.init(tmp_path / "minimal")
    minimal.import_(_minimal(tmp_path / "in"))
    table = contribution(minimal).set_index(["unit", "key"])
    minimal.close()
    assert f"not estimated: {NO_TOUCHES}" in table.loc[("marketing", "all"), "assumptions"]


def test_dml_refuses_too_few_units_per_fold_with_a_reason():
    from fairshare.contribution.incremental import IncrementalEffect, TooFewUnits, fit_problem

    x = pd.DataFrame({"size": np.arange(20.0)})
    d = np.r_[np.ones(5), np.zeros(15)]
    assert fit_problem(d, n_folds=3, binary=True) == (
        "only 5 exposed and 15 unexposed units: a 3-fold DML fit needs at least 6 of each"
    )
    assert fit_problem(np.r_[np.ones(6), np.zeros(14)], n_folds=3, binary=True) is None
    assert "5 dose strata" in fit_problem(np.arange(20.0), n_folds=3, binary=False, strata=5)
    with pytest.raises(TooFewUnits, match="needs at least 6 of each"):
        IncrementalEffect(n_folds=3).fit(x, d, np.arange(20.0))


def test_contribution_table_output_prints_why_a_row_is_omitted(tmp_path):
    import fairshare.cli.serve  # noqa: F401  (registers every command)
    from fairshare.cli import app

    ws = Workspace.init(tmp_path / "ws")
    ws.import_(TINY)
    ws.close()
    res = CliRunner().invoke(app, ["contribution", "--workspace", str(ws.path)])
    assert res.exit_code == 0
    assert (
        "note: marketing all: not identified from this data; would be settled by a randomized holdout"
        in " ".join(res.stderr.split())
    )


def test_scorecard_shows_why_incremental_revenue_is_missing(tmp_path):
    from fairshare.contribution import contribution
    from fairshare.scorecard import Scorecard

    ws = Workspace.init(tmp_path / "tiny")
    ws.import_(TINY)
    upstream = {"contribution": contribution(ws)}
    card = Scorecard(period="all").fit(ws, upstream=upstream).result_.set_index("kpi")
    ws.close()
    row = card.loc["incremental_revenue.marketing"]
    assert np.isnan(row["value"])
    assert row["note"].startswith("not identified from this data") and "holdout" in row["note"]
