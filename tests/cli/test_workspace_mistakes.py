"""Every command on an empty, missing or misspelled workspace, or a broken definitions file or warehouse URL:
one clear line, a non-zero exit, no traceback, and nothing created (only `init` creates a workspace)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fairshare.cli import app

TINY = Path(__file__).resolve().parents[2] / "examples" / "tiny"
runner = CliRunner()

#: Every command that reads or writes a workspace (init, simulate and demo create folders by design).
COMMANDS = [
    ["status"], ["run"], ["report"], ["serve"], ["scorecard"], ["funnel"], ["funnel", "--sla"], ["economics"],
    ["attribute"], ["attribute", "--sourced"], ["contribution"], ["reps"], ["forecast"], ["leads", "score"],
    ["leads", "explain", "L1"], ["experiment", "analyze"], ["import", str(TINY)], ["validate", str(TINY)],
]  # fmt: skip


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


def _invoke(args: list[str], workspace: Path):
    result = runner.invoke(app, [*args, "--workspace", str(workspace)])
    assert result.exit_code != 0, (args, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args,
        repr(result.exception),
    )
    assert "Traceback" not in result.output, (args, result.output)
    return result


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]).replace(str(TINY), "TINY"))
def test_every_command_on_an_empty_or_missing_folder_creates_nothing(tmp_path, args):
    empty = tmp_path / "empty"
    empty.mkdir()
    if args[0] == "validate":
        pytest.skip("validate checks a folder on its own; it needs no workspace")
    for workspace in (empty, tmp_path / "missing", tmp_path / "emtpy"):
        result = _invoke(args, workspace)
        assert "fairshare init" in result.output and len(result.output.strip().splitlines()) == 1, (
            result.output
        )
    assert _files(tmp_path) == {Path("empty")}


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]).replace(str(TINY), "TINY"))
def test_every_reader_on_a_workspace_without_data_creates_no_warehouse(tmp_path, args):
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    if args[0] in ("import", "validate", "serve"):
        pytest.skip("import creates the warehouse; validate and serve need none")
    result = _invoke(args, ws)
    assert "no data" in result.output or "no results" in result.output, result.output
    assert _files(tmp_path) == {Path("ws"), Path("ws/fairshare.toml")}


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda ws: (ws / "fairshare.toml").write_bytes(b'[workspace]\ncurrency = "\x80"\n'), "not UTF-8"),
        (lambda ws: (ws / "fairshare.toml").mkdir(), "is a folder, not a file"),
        (lambda ws: _url(ws, "duckdb:///{workspace}/notes.txt", b"hello"), "is not a DuckDB database file"),
        (lambda ws: _url(ws, "postgres://user:secret@localhost:1/db"), "cannot open the warehouse"),
        (lambda ws: _url(ws, "nonsense"), "is not a URL"),
        (lambda ws: _url(ws, "nosuch://host/db"), "cannot open the warehouse"),
        (lambda ws: _url(ws, ""), "warehouse in fairshare.toml is empty"),
        (lambda ws: _url(ws, "duckdb://"), "in-memory database"),
        (lambda ws: _url(ws, "sqlite:///{workspace}/w.db"), "sqlite:// is not supported"),
        (
            lambda ws: (ws / "fairshare.toml").write_text("[attribution]\nu_shape = [nan, 0.5, 0.5]\n"),
            "u_shape",
        ),
    ],
    ids=[
        "latin1-toml",
        "toml-folder",
        "not-a-database",
        "postgres-refused",
        "no-scheme",
        "unknown-scheme",
        "empty-url",
        "in-memory",
        "sqlite",
        "nan-weights",
    ],  # fmt: skip
)
def test_definitions_and_warehouse_mistakes_are_one_clear_line(tmp_path, setup, message):
    ws = tmp_path / "ws"
    ws.mkdir()
    setup(ws)
    before = _files(tmp_path)
    for args in (["status"], ["import", str(TINY)], ["scorecard"]):
        result = _invoke(args, ws)
        assert message in result.output and "secret" not in result.output, result.output
    assert _files(tmp_path) == before


def _url(ws: Path, url: str, file: bytes | None = None) -> None:
    (ws / "fairshare.toml").write_text(f'[workspace]\nwarehouse = "{url}"\n')
    if file is not None:
        (ws / "notes.txt").write_bytes(file)


def test_a_rejected_first_import_leaves_no_warehouse_behind(tmp_path):
    """A failed import into a new workspace once left empty canonical tables: the next command then
    asked for opportunities.csv instead of saying there is no data yet."""
    ws, bad = tmp_path / "ws", tmp_path / "bad"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    bad.mkdir()
    (bad / "reps.csv").write_text("rep_id,name,team\nR1,Ann,AE\n")  # the required tables are missing
    result = _invoke(["import", str(bad)], ws)
    assert "nothing was imported" in result.output
    assert _files(ws) == {Path("fairshare.toml")}
    again = _invoke(["scorecard"], ws)
    assert "no data in this workspace yet" in again.output, again.output


def test_a_rejected_later_import_keeps_the_warehouse(tmp_path):
    """Only a warehouse the failed import itself created goes; an imported one stays as it was."""
    ws, bad = tmp_path / "ws", tmp_path / "bad"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    assert runner.invoke(app, ["import", str(TINY), "--workspace", str(ws)]).exit_code == 0
    bad.mkdir()
    (bad / "reps.csv").write_text("rep_id,name,team\n,Ann,AE\n")  # a rep without its id
    assert "nothing was imported" in _invoke(["import", str(bad)], ws).output
    status = runner.invoke(app, ["status", "--format", "json", "--workspace", str(ws)])
    assert status.exit_code == 0 and '"opportunities": 2' in status.stdout, status.output


def test_every_command_on_a_sqlite_warehouse_is_one_line_and_creates_nothing(tmp_path):
    """A sqlite:// warehouse once gave read commands a TableNotFound traceback (and `status` created
    the database file): now each command names the URL as the problem before opening anything."""
    ws = tmp_path / "ws"
    ws.mkdir()
    _url(ws, "sqlite:///{workspace}/w.db")
    for args in COMMANDS:
        if args[0] == "validate":
            continue
        result = _invoke(args, ws)
        assert (
            "sqlite:// is not supported" in result.output and len(result.output.strip().splitlines()) == 1
        ), (
            args,
            result.output,
        )
    assert _files(ws) == {Path("fairshare.toml")}
