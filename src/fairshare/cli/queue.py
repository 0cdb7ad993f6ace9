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


@queue_app.command("simulate")
def simulate(
    policy: Annotated[
        list[str] | None,
        typer.Option(
            "--policy", "-p", help="value, fifo, lifo or round_robin (repeatable; default all four)."
        ),
    ] = None,
    replications: Annotated[
        int, typer.Option("--replications", "-r", min=2, help="Replays per policy.")
    ] = 20,
    seed: Annotated[int, typer.Option(help="Random seed of the replications.")] = 0,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,  # type: ignore[assignment]
) -> None:
    """Replay the lead flow with each rep's capacity under each policy: won revenue, leads worked, speed, calls/h."""
    from fairshare.routing import POLICIES, QueueReplay, replay_facts
    from fairshare.scoring import arrival_quality, score_workspace

    chosen = tuple(dict.fromkeys(policy or POLICIES))
    unknown = [p for p in chosen if p not in POLICIES]
    if unknown:
        fail(f"unknown queue policy {unknown[0]!r}", hint=f"choose from {', '.join(POLICIES)}")
    if "fifo" not in chosen:
        chosen = (*chosen, "fifo")  # the uplift is measured against first come, first served
    with open_workspace(workspace, read_only=True) as ws:
        if int(ws.table("leads").count().execute()) == 0:
            fail("the workspace has no leads", hint="import a leads table first: fairshare import FOLDER")
        _, _, leads = score_workspace(ws, horizon_days=ws.definitions.scoring.horizon_days)
        leads = leads.join(arrival_quality(ws), on="lead_id")
        history, reps, business = replay_facts(ws, leads)
        max_wait = ws.definitions.routing.max_wait_days
    if reps.empty:
        fail("no rep contacted a queued lead: nothing to replay", hint="import activities with lead_id")
    model = QueueReplay(policies=chosen, replications=replications, max_wait_days=max_wait, random_state=seed)
    render(model.fit(history, reps, business).result_, fmt, title="Queue policies replayed (90% intervals)")
