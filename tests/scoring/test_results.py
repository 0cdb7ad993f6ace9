"""`results()` for `fairshare run` and the `fairshare leads` / `fairshare reps` commands."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

import fairshare.cli.leads  # noqa: F401  (registers the commands)
import fairshare.cli.reps  # noqa: F401
from fairshare import scoring
from fairshare.cli.app import app
from fairshare.scoring import LEAD_COLUMNS
from fairshare.scoring.model import SMALL_DATA

runner = CliRunner()


def test_results_tables_have_the_documented_columns(sim_workspace):
    tables = scoring.results(sim_workspace.workspace, {})
    leads, validation = tables["leads"], tables["lead_validation"]
    assert list(leads.columns[: len(LEAD_COLUMNS)]) == LEAD_COLUMNS
    assert {"p_win_at_arrival", "p_opportunity_at_arrival"} <= set(leads.columns)
    assert leads["lead_id"].is_unique
    assert leads["lead_id"].nunique() == int(sim_workspace.workspace.table("leads").count().execute())
    assert (leads["value"].diff().dropna() <= 1e-9).all()  # most valuable first
    assert leads["model"].iloc[0] == SMALL_DATA  # a 400-account world is small data: said so
    assert list(validation.columns) == scoring.VALIDATION_COLUMNS


def test_evaluate_command_on_a_flat_file(tmp_path):
    rng = np.random.default_rng(0)
    n = 600
    visits = rng.poisson(3, n)
    source = rng.choice(["Google", "google", "Referral", "Select"], n)
    p = 1 / (1 + np.exp(-(-1.5 + 0.4 * visits + (source == "Referral"))))
    frame = pd.DataFrame({"id": range(n), "visits": visits, "source": source, "won": (rng.random(n) < p).astype(int),
                          "rep_notes": rng.choice(["hot", "cold"], n)})  # fmt: skip
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    result = runner.invoke(app, ["leads", "evaluate", str(path), "--target", "won", "--id", "id", "--drop", "rep_notes",
                                 "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["model"] for r in rows} == {"lightgbm", "logistic baseline"}
    auc = {r["model"]: r["mean"] for r in rows if r["metric"] == "roc_auc"}
    assert auc["lightgbm"] > 0.65 and auc["logistic baseline"] > 0.65
    assert all(len([k for k in r if k.startswith("fold_")]) == 5 for r in rows)


def test_evaluate_command_names_a_wrong_column(tmp_path):
    path = tmp_path / "leads.csv"
    pd.DataFrame({"a": range(30), "y": [0, 1] * 15}).to_csv(path, index=False)
    result = runner.invoke(app, ["leads", "evaluate", str(path), "--target", "converted"])
    assert result.exit_code == 1
    assert "converted" in result.output and "Traceback" not in result.output


def test_score_explain_and_reps_commands(sim_workspace):
    ws = str(sim_workspace.workspace.path)
    sim_workspace.workspace.close()  # the commands open the warehouse themselves
    scored = runner.invoke(app, ["leads", "score", "--top", "5", "--format", "json", "--workspace", ws])
    assert scored.exit_code == 0, scored.output
    rows = json.loads(scored.stdout)
    assert len(rows) == 5 and list(rows[0]) == LEAD_COLUMNS
    explained = runner.invoke(
        app, ["leads", "explain", rows[0]["lead_id"], "--format", "csv", "--workspace", ws]
    )
    assert explained.exit_code == 0, explained.output
    contributions = pd.read_csv(io.StringIO(explained.stdout))
    assert list(contributions.columns) == ["feature", "value", "contribution", "reason"]
    missing = runner.invoke(app, ["leads", "explain", "NO-SUCH-LEAD", "--workspace", ws])
    assert missing.exit_code == 1 and "NO-SUCH-LEAD" in missing.output
    rep_rows = runner.invoke(app, ["reps", "--team", "AE", "--format", "json", "--workspace", ws])
    assert rep_rows.exit_code == 0, rep_rows.output
    table = json.loads(rep_rows.stdout)
    assert table and all(r["team"] == "AE" for r in table)
