"""`fairshare reps`: rep activity, speed to lead, SLA compliance and closing ability net of lead quality."""

from __future__ import annotations

from typing import Annotated

import typer

from fairshare.cli.app import FormatOption, WorkspaceOption, app
from fairshare.cli.data import open_workspace
from fairshare.cli.output import Format, fail, library_warnings, render
from fairshare.cli.stored import RefitOption, stored_table


@app.command("reps")
def reps_command(
    team: Annotated[str | None, typer.Option("--team", help="Only this team (SDR, AE, AM, other).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to print (0 = all).")] = 50,
    refit: RefitOption = False,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,  # type: ignore[assignment]
) -> None:
    """Each rep's activity, speed to lead, contact rate, SLA compliance and shrunken closing ability (90% CI)."""
    with open_workspace(workspace, read_only=True) as ws:
        if int(ws.table("reps").count().execute()) == 0:
            fail("the workspace has no reps", hint="import a reps table first: fairshare import FOLDER")
        table = stored_table(ws, "reps", refit, say=fmt is Format.table)
        if table is None:
            from fairshare.reps import results

            with library_warnings():
                table = results(ws, {})["reps"]
    if team is not None:
        table = table[table["team"] == team]
    render(table.reset_index(drop=True), fmt, title="Reps (ability = win rate above what the leads predicted)",
           limit=limit or None, more="--limit 0")  # fmt: skip
