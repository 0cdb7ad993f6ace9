"""The Typer application object every command module registers on."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from fairshare.cli.output import Format, fail

app = typer.Typer(
    name="fairshare",
    help="What marketing and sales each really contribute to revenue.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: fast to start and readable in any terminal
)

WorkspaceOption = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        envvar="FAIRSHARE_WORKSPACE",
        help="Workspace folder (holds fairshare.toml and the warehouse). Default: current folder.",
        show_default=False,
    ),
]


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="table, json or csv")]
LevelOption = Annotated[float, typer.Option("--level", min=0.5, max=0.999, help="interval level")]


def _version(show: bool) -> None:
    if show:
        from fairshare import __version__

        typer.echo(f"fairshare {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """What marketing and sales each really contribute to revenue."""


def default_workspace() -> Path:
    return Path(os.environ.get("FAIRSHARE_WORKSPACE", "."))


#: Warehouse URL schemes fairshare cannot use, and why (imports stage through DuckDB; the models
#: need window functions and transactions SQLite's Ibis backend does not give them).
UNSUPPORTED = {"sqlite": "SQLite cannot hold a fairshare warehouse (imports stage through DuckDB and runs "
                         "need transactions it does not give)"}  # fmt: skip
DEFAULT_URL = "duckdb:///{workspace}/fairshare.duckdb"


def warehouse_mistake(url: str) -> str | None:
    """One line on what is wrong with a warehouse URL before anything is opened, or None."""
    scheme, sep, rest = url.partition("://")
    if not url.strip():
        return f"[workspace] warehouse in fairshare.toml is empty; the default is {DEFAULT_URL}"
    if not sep:
        return (f"[workspace] warehouse {url!r} is not a URL (no scheme://); for a DuckDB file write "
                f"duckdb:///{url.lstrip('/')} (the default is {DEFAULT_URL})")  # fmt: skip
    if scheme == "duckdb" and rest.strip("/") in ("", ":memory:"):
        return (f"[workspace] warehouse {url} is an in-memory database, which keeps nothing between commands; "
                f"point it at a file (the default is {DEFAULT_URL})")  # fmt: skip
    if scheme in UNSUPPORTED:
        return (f"[workspace] warehouse {scheme}:// is not supported: {UNSUPPORTED[scheme]}; "
                f"use {DEFAULT_URL} (the default)")  # fmt: skip
    return None


def checked_folder(path: Path | None) -> Path:
    """The workspace folder, or end the command with one line saying what to run (no folder, no
    fairshare.toml): the checks every command makes before anything is opened."""
    from fairshare.config import CONFIG_NAME

    path = path or default_workspace()
    where = "this folder" if str(path) == "." else str(path)
    if not path.is_dir():
        what = "is a file, not a folder" if path.exists() else "does not exist"
        fail(f"no workspace: {where} {what}; create one with `fairshare init {path}`")
    if not (path / CONFIG_NAME).exists():
        fail(f"{where} is not a fairshare workspace (no {CONFIG_NAME}); create one with `fairshare init {path}`, "
             "or pass --workspace FOLDER")  # fmt: skip
    return path


@contextlib.contextmanager
def workspace_errors() -> Iterator[None]:
    """Bad definitions and an unopenable warehouse end the command with one line and a hint."""
    from fairshare.config import CONFIG_NAME, DefinitionsError
    from fairshare.warehouse import WarehouseError

    try:
        yield
    except DefinitionsError as e:
        fail(str(e), hint=f"fix the key in {CONFIG_NAME}; `fairshare init --force` writes a fresh default")
    except WarehouseError as e:
        fail(str(e))


def open_workspace(path: Path | None, read_only: bool = False, connect: bool = True, create: bool = False):
    """The workspace at `path`, checked before anything is opened or created.

    A missing folder, a folder without fairshare.toml, bad definitions, no warehouse yet (for
    readers) or a held warehouse each end the command with one line saying what to run; only
    `init` creates a workspace, and only `import` (`create`) the warehouse file in it. Readers open
    the warehouse read-only and close it when done.
    """
    from fairshare.warehouse import NoWarehouse, duckdb_path
    from fairshare.workspace import Workspace

    path = checked_folder(path)
    with workspace_errors():
        ws = Workspace(path, read_only=read_only)
        mistake = warehouse_mistake(ws.definitions.workspace.warehouse)
        if mistake:
            fail(mistake)
        file = duckdb_path(ws.url)
        if not create and file is not None and not file.exists():
            raise NoWarehouse(f"no data in this workspace yet (no {file.name}); "
                              f"import a folder first: fairshare import FOLDER --workspace {path}")  # fmt: skip
        if connect:
            ws.con  # noqa: B018 (open now, so a missing or held warehouse is reported here)
            if (
                file is None
                and not create
                and not ({"accounts", "opportunities"} & set(ws.con.list_tables()))
            ):
                ws.close()
                raise NoWarehouse(f"no data in this warehouse yet (no canonical tables); "
                                  f"import a folder first: fairshare import FOLDER --workspace {path}")  # fmt: skip
        return ws
