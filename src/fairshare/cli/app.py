"""The Typer application object every command module registers on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from fairshare.cli.output import Format

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
