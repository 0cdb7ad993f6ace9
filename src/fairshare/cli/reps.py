"""`fairshare reps`: rep activity, speed to lead, SLA compliance and closing ability net of lead quality."""

from __future__ import annotations

from typing import Annotated

import typer

from fairshare.cli.app import FormatOption, WorkspaceOption, app, open_workspace
from fairshare.cli.output import Format, fail, render


@app.command("reps")
def reps_command(
    team: Annotated[str | None, typer.Option("--team", help="Only this team (SDR, AE, AM, other).")] = None,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,  # type: ignore[assignment]
) -> None:
    """Each rep's activity, speed to lead, contact rate, SLA compliance and shrunken closing ability (90% CI).

    Reads the `reps` table of the last run, as the API, dashboard and report do: refitting here
    without the run's lead values once printed SDR expected revenue 0 where they showed 1,014,905.
    """
    ws = open_workspace(workspace, read_only=True, connect=False)
    try:
        table = ws.result("reps")
    except KeyError:
        fail(
            "no stored rep results yet; run `fairshare run` first (the API, dashboard and report read the same)"
        )
    if team is not None:
        table = table[table["team"] == team]
    render(
        table.reset_index(drop=True), fmt, title="Reps (ability = win rate above what the leads predicted)"
    )
