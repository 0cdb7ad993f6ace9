"""`fairshare attribute` end to end (path files and a workspace)."""

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import fairshare.cli.attribute  # noqa: F401  (registers the command)
from attribution import world  # tests/attribution/world.py
from fairshare.cli.app import app
from fairshare.workspace import Workspace


@pytest.fixture
def data(reference_data) -> Path:
    return reference_data("channelattribution_paths/Data.csv")


runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["attribute", *args])


def test_paths_file_json(tmp_path, data):
    r = invoke("--paths", str(data), "--model", "first_touch", "--bootstrap", "0", "--format", "json",
               "--workspace", str(tmp_path))  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = {row["key"]: row for row in json.loads(r.stdout)}
    assert rows["alpha"]["conversions"] == 6308
    assert set(rows["alpha"]) >= {"model", "key", "conversions", "revenue", "share", "ci_low", "ci_high"}


def test_paths_comma_csv_and_parquet_give_the_same_result(tmp_path, data):
    frame = pd.read_csv(data, sep=";").head(500)
    frame.to_csv(tmp_path / "p.csv", index=False)
    frame.to_parquet(tmp_path / "p.parquet", index=False)
    outs = []
    for name in ("p.csv", "p.parquet"):
        r = invoke("--paths", str(tmp_path / name), "--model", "all", "--order", "1", "--order", "2",
                   "--bootstrap", "5", "--format", "csv", "--workspace", str(tmp_path))  # fmt: skip
        assert r.exit_code == 0, r.output
        outs.append(pd.read_csv(io.StringIO(r.stdout)))
    pd.testing.assert_frame_equal(outs[0], outs[1])
    assert {"markov_1", "markov_2", "shapley", "u_shaped"} <= set(outs[0]["model"])
    assert "time_decay" not in set(outs[0]["model"])  # path tables carry no times


def test_user_errors_are_one_line_and_non_zero(tmp_path, data):
    r = invoke("--paths", str(data), "--model", "magic", "--workspace", str(tmp_path))
    assert r.exit_code == 1 and "unknown model" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("route,total_conversions\na > b,1\n")
    r = invoke("--paths", str(bad), "--workspace", str(tmp_path))
    assert r.exit_code == 1 and "path" in r.output and "Traceback" not in r.output


@pytest.fixture(scope="module")
def ws_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    ws = Workspace.init(root / "ws")
    ws.import_(world.write(root / "company"))
    ws.close()
    return root / "ws"


def test_workspace_by_team_and_sourced(ws_folder):
    r = invoke("--model", "linear", "--by", "team", "--bootstrap", "0", "--format", "json", "--workspace",
               str(ws_folder))  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = {row["key"]: row["conversions"] for row in json.loads(r.stdout)}
    assert rows == pytest.approx({"marketing": 4 / 6, "SDR": 1 / 6, "AE": 1 / 6})
    r = invoke("--sourced", "--format", "json", "--workspace", str(ws_folder))
    assert r.exit_code == 0, r.output
    teams = {row["team"]: row for row in json.loads(r.stdout)}
    assert teams["marketing"]["sourced_revenue"] == 1000.0


def test_workspace_all_models_include_the_journey_only_ones(ws_folder):
    r = invoke("--model", "all", "--bootstrap", "3", "--format", "json", "--workspace", str(ws_folder))
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    models = {row["model"] for row in rows}
    assert {"time_decay", "w_shaped", "full_path", "markov_1", "shapley"} <= models
    # O1 is the only won journey: every model credits exactly its one conversion and 1000 of revenue
    for m in models:
        assert sum(row["conversions"] for row in rows if row["model"] == m) == pytest.approx(1.0)
        assert sum(row["revenue"] for row in rows if row["model"] == m) == pytest.approx(1000.0)
