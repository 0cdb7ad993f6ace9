"""Commands for the funnel, economics and the scorecard: funnel, economics, scorecard."""

from __future__ import annotations

import contextlib
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer

from fairshare.cli.app import FormatOption, WorkspaceOption, app
from fairshare.cli.data import open_workspace
from fairshare.cli.output import Format, fail, records, render

LevelOption = Annotated[float, typer.Option("--level", min=0.5, max=0.999, help="interval level")]
AsOfOption = Annotated[
    datetime | None,
    typer.Option("--as-of", help="judge open SLAs and stuck deals at this time (default: the latest event)"),
]


class FunnelBy(StrEnum):
    channel = "channel"
    campaign = "campaign"
    source_team = "source_team"
    segment = "segment"
    rep = "rep"


class EconomicsBy(StrEnum):
    channel = "channel"
    campaign = "campaign"
    source = "source"


class Period(StrEnum):
    quarter = "quarter"
    month = "month"
    year = "year"
    all = "all"


def _upstream(ws) -> dict:
    """Model results of the last `fairshare run` (attribution, contribution, forecast), when there is one."""
    out = {}
    for name in ("attribution", "contribution", "forecast"):
        with contextlib.suppress(KeyError):
            out[name] = ws.result(name)
    return out


@app.command("funnel")
def funnel_command(
    by: Annotated[
        FunnelBy | None, typer.Option("--by", help="break the funnel down by this dimension")
    ] = None,
    sla: Annotated[bool, typer.Option("--sla", help="SLA summary instead of the funnel")] = False,
    breaches: Annotated[
        bool, typer.Option("--breaches", help="every breaching lead and opportunity")
    ] = False,
    stuck: Annotated[
        bool, typer.Option("--stuck", help="open opportunities with no recent activity")
    ] = False,
    speed: Annotated[bool, typer.Option("--speed", help="speed to lead and never-contacted share")] = False,
    as_of: AsOfOption = None,
    level: LevelOption = 0.9,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Stage conversion (90% intervals) and velocity; with --sla/--breaches/--stuck/--speed the SLAs."""
    from fairshare.funnel import Funnel
    from fairshare.funnel.sla import ServiceLevels

    ws = open_workspace(workspace, read_only=True)
    try:
        fn = Funnel(ws, as_of=as_of, level=level)
        levels = ServiceLevels(fn)
        if breaches:
            table, title = levels.breaches(), f"SLA breaches as of {fn.as_of:%Y-%m-%d %H:%M}"
        elif stuck:
            table, title = levels.stuck_pipeline(), f"stuck pipeline as of {fn.as_of:%Y-%m-%d %H:%M}"
        elif sla:
            table, title = levels.table(), f"SLAs as of {fn.as_of:%Y-%m-%d %H:%M}"
            if fmt is Format.table:
                table = table.drop(columns=["definition"])
        elif speed:
            table, title = levels.speed_to_lead(), "speed to lead (handed-over leads)"
        elif by is not None:
            table, title = fn.breakdown(by.value), f"funnel by {by.value}"
        else:
            table, title = fn.stages(), "funnel"
    except ValueError as e:
        fail(str(e))
    finally:
        ws.close()
    render(table, fmt, title=title)


@app.command("economics")
def economics_command(
    by: Annotated[
        EconomicsBy, typer.Option("--by", help="channel, campaign or source")
    ] = EconomicsBy.channel,
    prospecting: Annotated[
        bool, typer.Option("--prospecting", help="revenue per rep-hour by prospecting program instead")
    ] = False,
    model: Annotated[
        str | None, typer.Option("--model", help="attribution model for the attributed ROI (default markov)")
    ] = None,
    level: LevelOption = 0.9,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Cost (media spend + sales time), CAC, pipeline and revenue per $ and per rep-hour, ROI three ways."""
    from fairshare.economics import Economics

    ws = open_workspace(workspace, read_only=True)
    try:
        econ = Economics(ws, level=level)
        if prospecting:
            table, title = econ.prospecting(), "revenue per rep-hour by program"
        else:
            table, title = (
                econ.table(by.value, _upstream(ws), attribution_model=model),
                f"economics by {by.value}",
            )
    finally:
        ws.close()
    if fmt is Format.table and not prospecting:
        table = table[["key", "spend", "sales_cost", "cost", "leads", "opportunities", "won", "revenue", "cac",
                       "revenue_per_dollar", "roi_attributed", "roi_sourced", "roi_incremental"]]  # fmt: skip
    render(table, fmt, title=title)


@app.command("scorecard")
def scorecard_command(
    period: Annotated[Period, typer.Option("--period", help="quarter, month, year or all")] = Period.quarter,
    as_of: AsOfOption = None,
    level: LevelOption = 0.9,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,
) -> None:
    """The KPIs both teams agree on, this period vs the previous one, each with its definition and SQL."""
    from fairshare.scorecard import Scorecard

    ws = open_workspace(workspace, read_only=True)
    try:
        card = Scorecard(
            ws,
            period=period.value,
            as_of=as_of,
            upstream=_upstream(ws),
            level=level,
            with_sql=fmt is not Format.table,
        )
        table = card.table()
    except ValueError as e:
        fail(str(e))
    finally:
        ws.close()
    if fmt is Format.json:
        render(
            {
                "as_of": card.as_of.isoformat(),
                "period": card.current_label,
                "previous_period": card.previous_label,
                "currency": ws.definitions.workspace.currency,
                "kpis": records(table),
            },
            fmt,
        )
    elif fmt is Format.csv:
        render(table, fmt)
    else:
        title = f"scorecard {card.current_label}" + (
            f" vs {card.previous_label}" if card.previous_label else ""
        )
        render(
            table[["kpi", "value", "unit", "ci_low", "ci_high", "previous_value", "change", "note"]],
            fmt,
            title=title,
        )
