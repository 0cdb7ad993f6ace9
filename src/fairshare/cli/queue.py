"""`fairshare queue [--rep ID]`: each rep's next-best open leads by expected $ per hour of work."""

from __future__ import annotations

from typing import Annotated

import typer

from fairshare.cli.app import FormatOption, WorkspaceOption, app
from fairshare.cli.data import open_workspace
from fairshare.cli.output import Format, fail, render

queue_app = typer.Typer(
    help="Each rep's next-best open leads by expected $ per hour (P(win) x value / effort), SLA first.",
    invoke_without_command=True,
)
app.add_typer(queue_app, name="queue")


def workspace_queue(ws):
    """The last run's `queue` table, or (no run yet) the queue computed now from a fresh lead model."""
    try:
        return ws.result("queue")
    except KeyError:
        from fairshare.routing import build_queue
        from fairshare.scoring import score_workspace

        if int(ws.table("leads").count().execute()) == 0:
            fail("the workspace has no leads", hint="import a leads table first: fairshare import FOLDER")
        _, _, leads = score_workspace(ws, horizon_days=ws.definitions.scoring.horizon_days)
        return build_queue(ws, leads).result_


@queue_app.callback()
def queue(
    ctx: typer.Context,
    rep: Annotated[str | None, typer.Option("--rep", help="Only this rep's queue.")] = None,
    top: Annotated[int, typer.Option("--top", "-n", help="At most N leads per rep (0 = all).")] = 20,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,  # type: ignore[assignment]
) -> None:
    """Open leads per rep, most $ per hour first (uncontacted leads due within 4 h of their SLA lead)."""
    if ctx.invoked_subcommand is not None:
        return
    with open_workspace(workspace, read_only=True) as ws:
        table = workspace_queue(ws)
    if rep is not None:
        if rep not in set(table["rep_id"]):
            fail(f"no open leads queued for rep {rep!r}", hint="list the queue of every rep: fairshare queue")
        table = table[table["rep_id"] == rep]
    if top > 0:
        table = table[table["rank"] <= top]
    render(table.reset_index(drop=True), fmt, title="Work queue (expected $ per hour of work)")
