"""`fairshare init --warehouse URL`, `import`, `run`, `scorecard` on DuckDB and PostgreSQL (examples/tiny):
the scorecard JSON equals DuckDB's, except the `source` SQL, which is in the warehouse's dialect. A whole
`fairshare run` on local Spark was not verified within the CI budget (issue #17 report)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backends.conftest import BACKENDS, warehouse_url
from fairshare.cli import app

TINY = Path(__file__).resolve().parents[2] / "examples" / "tiny"
runner = CliRunner()
_SCORECARDS: dict[str, dict] = {}


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"fairshare {' '.join(args)} failed: {result.output}"
    return result.output


def _scorecard(request, name: str, root: Path) -> dict:
    url = warehouse_url(request, name, "e2e", root)
    ws = str(root / "ws")
    _invoke("init", ws, "--warehouse", url)
    assert url in (root / "ws" / "fairshare.toml").read_text(encoding="utf-8")
    _invoke("import", str(TINY), "--workspace", ws)
    _invoke("import", str(TINY), "--workspace", ws)  # the same files again change nothing
    status = json.loads(_invoke("status", "--workspace", ws, "--format", "json"))
    assert status["tables"]["touches"] == 5 and status["tables"]["lifecycle"] == 9
    _invoke("run", "--workspace", ws)
    card = json.loads(_invoke("scorecard", "--workspace", ws, "--format", "json"))
    for kpi in card["kpis"]:
        kpi.pop("source", None)
    return card


@pytest.mark.slow
@pytest.mark.parametrize("name", [b for b in BACKENDS if b != "spark"])  # Spark: see the issue #17 report
def test_init_import_run_scorecard(request, name, tmp_path):
    if "duckdb" not in _SCORECARDS:
        _SCORECARDS["duckdb"] = _scorecard(request, "duckdb", tmp_path / "reference")
    card = _SCORECARDS["duckdb"] if name == "duckdb" else _scorecard(request, name, tmp_path)
    assert card == _SCORECARDS["duckdb"]
    assert {k["kpi"] for k in card["kpis"]} >= {"bookings"}
    assert (
        next(k for k in card["kpis"] if k["kpi"] == "bookings")["value"] == 48000.0
    )  # examples/tiny's one won deal
