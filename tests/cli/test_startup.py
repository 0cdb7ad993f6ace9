"""Start-up stays light: the CLI imports no model library until a command needs it."""

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

import fairshare
from fairshare.cli import app
from fairshare.cli.output import short_number

TINY = Path(__file__).resolve().parents[2] / "examples" / "tiny"
HEAVY = ("lightgbm", "doubleml", "sklearn", "plotly", "fastapi", "ibis", "pandas", "scipy", "statsmodels")


def test_importing_the_cli_pulls_in_no_model_library():
    # a fresh interpreter: this test process has long imported everything
    code = f"import sys, fairshare.cli; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"imported at start-up: {out.stdout.strip()}"


def test_status_reads_the_warehouse_without_ibis_or_pandas(tmp_path):
    # `status` answers from the definitions, the run manifest and plain DuckDB (well under 1 s)
    ws = tmp_path / "ws"
    assert CliRunner().invoke(app, ["init", str(ws)]).exit_code == 0
    assert CliRunner().invoke(app, ["import", str(TINY), "-w", str(ws)]).exit_code == 0
    code = (
        "import sys, json\n"
        "from fairshare.cli import app\n"
        f"try: app(['status', '-w', {str(ws)!r}, '-f', 'json'])\n"
        "except SystemExit: pass\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    *status, heavy = out.stdout.strip().splitlines()
    assert json.loads(heavy) == [], f"status imported: {heavy}"
    assert (
        json.loads("\n".join(status))["tables"]["accounts"]
        == len((TINY / "accounts.csv").read_text().splitlines()) - 1
    )


def test_version_prints_the_package_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"fairshare {fairshare.__version__}"


def test_short_numbers_fit_narrow_columns():
    assert short_number(2_224_500) == "2.2M"
    assert short_number(35_400) == "35.4k"
    assert short_number(999_960) == "1.0M"  # not "1000.0k"
    assert short_number(-2_500) == "-2.5k"
    assert short_number(0.12345) == "0.123"
    assert short_number(42.0) == "42"
