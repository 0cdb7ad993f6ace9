"""`fairshare diagnose`: why bookings changed, the primary cause with evidence, and ranked recommendations."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from fairshare.cli.app import FormatOption, LevelOption, WorkspaceOption, app
from fairshare.cli.data import open_workspace
from fairshare.cli.output import Format, fail, render


@app.command("diagnose")
def diagnose(
    period: Annotated[str, typer.Option("--period", help="quarter or month.")] = "quarter",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Diagnose the latest period complete at this time (ISO-8601)."),
    ] = None,
    vs: Annotated[
        str,
        typer.Option(
            "--vs", help="previous (the period before) or target ([targets] bookings in fairshare.toml)."
        ),
    ] = "previous",
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,  # type: ignore[assignment]
) -> None:
    """Bookings change split into lead generation, capacity, execution and deal size; the primary cause; what to do."""
    import pandas as pd

    from fairshare.diagnose import diagnose_workspace
    from fairshare.errors import AreaMissing

    if period not in ("quarter", "month"):
        fail(f"unknown period {period!r}", hint="use --period quarter or --period month")
    if vs not in ("previous", "target"):
        fail(f"unknown --vs {vs!r}", hint="use --vs previous or --vs target")
    try:
        when = pd.Timestamp(as_of) if as_of else None
    except ValueError:
        fail(f"--as-of {as_of!r} is not a time", hint="e.g. --as-of 2025-10-01")
    with open_workspace(workspace, read_only=True) as ws:
        if int(ws.table("leads").count().execute()) == 0:
            fail("the workspace has no leads", hint="import a leads table first: fairshare import FOLDER")
        try:
            model = diagnose_workspace(ws, period=period, as_of=when, vs=vs)
        except AreaMissing as err:
            fail(str(err), hint="set the period's target in fairshare.toml, or use --vs previous")
    result = model.result_
    if fmt is Format.json:
        typer.echo(json.dumps(result, default=str, indent=2))
        return
    render(
        {k: v for k, v in result.items() if k not in ("evidence", "recommendations")}, fmt, title="Diagnosis"
    )
    render(
        model.evidence_, fmt, title="Evidence (effect: share of the bookings change, 90% bootstrap interval)"
    )
    render(model.recommendations_, fmt, title="Recommendations (expected effect per period, 90% interval)")


@app.command("prospecting")
def prospecting(
    level: LevelOption = 0.9,
    refit: Annotated[bool, typer.Option("--refit", help="Fit now instead of reading the last run.")] = False,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,  # type: ignore[assignment]
) -> None:
    """Cold calls, referrals, events or marketing leads: won revenue per rep-hour and per total $, and a verdict."""
    from fairshare.cli.stored import stored_table
    from fairshare.prospecting import prospecting_verdict, verdict

    with open_workspace(workspace, read_only=True) as ws:
        table = stored_table(
            ws, "prospecting_verdict", refit, same_options=level == 0.9, say=fmt is Format.table
        )
        if table is None:
            table = prospecting_verdict(ws, level=level).result_
    line = verdict(table)
    if fmt is Format.json:
        rows = json.loads(table.to_json(orient="records"))
        typer.echo(json.dumps({"verdict": line, "rows": rows}, indent=2))
        return
    if fmt is Format.table:
        typer.echo(line)
        table = table[["program", "leads", "won", "revenue", "rep_hours", "cost", "revenue_per_rep_hour",
                       "per_hour_ci_low", "per_hour_ci_high", "revenue_per_dollar", "per_dollar_ci_low",
                       "per_dollar_ci_high"]]  # fmt: skip
    render(table, fmt, title="Prospecting: won revenue per rep-hour and per total $ (media + sales time)")
