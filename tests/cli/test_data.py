"""The data commands: init, import, validate, status — thin, scriptable, no tracebacks."""

import json
import shutil
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from fairshare.cli import app

TINY = Path(__file__).resolve().parents[2] / "examples" / "tiny"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_init_import_status_json(tmp_path):
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    assert "[attribution]" in (ws / "fairshare.toml").read_text()
    result = run("import", str(TINY), "--workspace", str(ws), "--format", "json")
    assert result.exit_code == 0, result.output
    status = json.loads(run("status", "--workspace", str(ws), "--format", "json").stdout)
    expected = {p.stem: len(pd.read_csv(p)) for p in TINY.glob("*.csv")}
    assert {k: v for k, v in status["tables"].items() if v} == expected
    assert status["last_import"]["import_id"] == 1
    assert status["warehouse"].startswith("duckdb:///")


def test_status_csv_and_env_workspace(tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    run("init", str(ws))
    run("import", str(TINY), "-w", str(ws))
    monkeypatch.setenv("FAIRSHARE_WORKSPACE", str(ws))
    out = run("status", "--format", "csv").stdout
    assert out.splitlines()[0].startswith("workspace,warehouse,currency")


def test_status_parses_the_definitions_once(tmp_path, monkeypatch):
    # the URL check and the status record share one parse of fairshare.toml
    import fairshare.config
    import fairshare.status

    ws = tmp_path / "ws"
    run("init", str(ws))
    run("import", str(TINY), "-w", str(ws))
    parsed = []
    original = fairshare.config.load_definitions

    def counted(path):
        parsed.append(path)
        return original(path)

    monkeypatch.setattr(fairshare.config, "load_definitions", counted)
    monkeypatch.setattr(fairshare.status, "load_definitions", counted)
    assert run("status", "-w", str(ws), "-f", "json").exit_code == 0
    assert parsed == [ws / "fairshare.toml"]


def test_bad_import_exits_nonzero_with_lines_and_no_traceback(tmp_path):
    ws = tmp_path / "ws"
    run("init", str(ws))
    bad = Path(shutil.copytree(TINY, tmp_path / "bad"))
    (bad / "opportunities.csv").write_text(
        (bad / "opportunities.csv").read_text().replace(",48000,", ",4.8k,")
    )
    result = run("import", str(bad), "-w", str(ws))
    assert result.exit_code == 1
    assert "opportunities.csv:2: amount: not a number: '4.8k'" in result.stderr
    assert "nothing was imported" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    status = run("status", "-w", str(ws), "-f", "json")  # the rejected first import left no warehouse
    assert status.exit_code == 1 and "no data in this workspace yet" in status.stderr
    assert sorted(p.name for p in ws.iterdir()) == ["fairshare.toml"]


def test_validate_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("validate", str(TINY), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["valid"] is True
    assert not list(tmp_path.iterdir())


def test_typo_in_definitions_is_a_user_error(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "fairshare.toml").write_text("[sla]\nfirst_contact_hour = 4\n")
    result = run("status", "-w", str(ws))
    assert result.exit_code == 1
    assert "did you mean 'first_contact_hours'" in result.stderr
    assert "Traceback" not in result.stderr


def test_error_messages_are_not_read_as_markup(capsys):
    import typer

    from fairshare.cli.output import fail

    try:
        fail("column [employees] must be 0/1, found [3, 7]", hint="see [docs]")
    except typer.Exit as e:
        assert e.exit_code == 1
    err = capsys.readouterr().err
    assert "[employees]" in err and "[3, 7]" in err and "[docs]" in err
