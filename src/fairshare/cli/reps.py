"""`fairshare reps`: rep activity, speed to lead, SLA compliance and closing ability net of lead quality."""

from __future__ import annotations

from typing import Annotated

import typer

from fairshare.cli.app import FormatOption, WorkspaceOption, app, open_workspace
from fairshare.cli.output import Format, err_console, fail, library_warnings, render
from fairshare.cli.stored import RefitOption, stored_table


@app.command("reps")
def reps_command(
    team: Annotated[str | None, typer.Option("--team", help="Only this team (SDR, AE, AM, other).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to print (0 = all).")] = 50,
    factors: Annotated[
        bool, typer.Option("--factors", help="Rep factors: consistency, speed, product knowledge, closing.")
    ] = False,
    refit: RefitOption = False,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,  # type: ignore[assignment]
) -> None:
    """Each rep's activity, speed to lead, contact rate, SLA compliance and shrunken closing ability (90% CI).

    Reads the `reps` table of the last run while it is fresh, as the API, dashboard and report do; a refit
    scores the leads first, as the run does (without their values SDR expected revenue once printed 0).
    """
    if factors:
        _factors(team, limit, refit, fmt, workspace)
        return
    with open_workspace(workspace, read_only=True) as ws:
        if int(ws.table("reps").count().execute()) == 0:
            fail("the workspace has no reps", hint="import a reps table first: fairshare import FOLDER")
        table = stored_table(ws, "reps", refit, say=fmt is Format.table)
        if table is None:
            from fairshare.errors import AreaMissing
            from fairshare.reps import results
            from fairshare.scoring import results as lead_results

            with library_warnings():
                try:
                    upstream = {"leads": lead_results(ws, {})["leads"]}
                except AreaMissing:
                    upstream = {}
                table = results(ws, upstream)["reps"]
    if team is not None:
        table = table[table["team"] == team]
    render(table.reset_index(drop=True), fmt, title="Reps (ability = win rate above what the leads predicted)",
           limit=limit or None, more="--limit 0")  # fmt: skip


def _factors(team: str | None, limit: int, refit: bool, fmt: Format, workspace) -> None:
    """The `rep_factors` table of the last run (or fitted now), with the team-mood statement."""
    from fairshare.notes import MOOD_NOTE

    with open_workspace(workspace, read_only=True) as ws:
        table = stored_table(ws, "rep_factors", refit, say=fmt is Format.table)
        if table is None:
            from fairshare.notes import results

            with library_warnings():
                table = results(ws, {})["rep_factors"]
        if team is not None:
            members = set(ws.table("reps").filter(ws.table("reps").team == team).rep_id.execute())
            table = table[table["rep_id"].isin(members)]
    if fmt is Format.table:
        table = table[table["factor"] != "team_mood"]
        err_console.print(f"Team mood: {MOOD_NOTE}.", highlight=False, soft_wrap=True)
    render(table.reset_index(drop=True), fmt, title="Rep factors (net of lead and territory quality, 90% CI)",
           limit=limit or None, more="--limit 0")  # fmt: skip
