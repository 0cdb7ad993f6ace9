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


def default_workspace() -> Path:
    return Path(os.environ.get("FAIRSHARE_WORKSPACE", "."))
