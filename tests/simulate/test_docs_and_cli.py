"""docs/simulator.md documents every parameter and truth column; the CLI writes a valid folder."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

import fairshare.cli.simulate  # noqa: F401  (registers the command)
from fairshare.cli.app import app
from fairshare.simulate import ChannelSpec, SimulationConfig
from fairshare.simulate.config import BudgetFlights, CapacityChanges, Holdouts
from fairshare.simulate.truth import INCREMENTAL_COLUMNS, QUARTER_COLUMNS, SCENARIO_COLUMNS

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def test_every_parameter_and_truth_column_is_documented():
    text = DOC.read_text(encoding="utf-8")
    models = (SimulationConfig, ChannelSpec, BudgetFlights, CapacityChanges, Holdouts)
    missing = [f for m in models for f in m.model_fields if f"`{f}`" not in text]
    missing += [c for c in [*SCENARIO_COLUMNS, *INCREMENTAL_COLUMNS, *QUARTER_COLUMNS] if c not in text]
    assert not missing, missing


def test_cli_writes_canonical_files_and_truth(tmp_path):
    out = tmp_path / "company"
    result = CliRunner().invoke(
        app,
        ["simulate", "--out", str(out), "--accounts", "150", "--seed", "3", "--scenario", "marketing_off",
         "--format", "parquet", "--show", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows_accounts"] == 150
    assert (out / "touches.parquet").exists() and (out / "truth" / "incremental.parquet").exists()
    inc = pd.read_parquet(out / "truth" / "incremental.parquet")
    assert list(inc.unit) == ["marketing"]


def test_cli_rejects_unknown_scenario(tmp_path):
    result = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path), "--scenario", "tv_off"])
    assert result.exit_code != 0
    assert "unknown scenario" in result.output
