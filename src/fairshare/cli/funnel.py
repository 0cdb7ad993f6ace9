"""Commands for the funnel, economics and the scorecard: funnel, economics, scorecard."""

from __future__ import annotations

import contextlib
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer

from fairshare.cli.app import FormatOption, WorkspaceOption, app
from fairshare.cli.data import open_workspace
from fairshare.cli.output import Format, err_console, fail, records, render, short_number

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
        fn = Funnel(as_of=as_of, level=level).fit(ws)
        levels = ServiceLevels().fit(fn)
        if breaches:
            table, title = levels.breaches(), f"SLA breaches as of {fn.as_of_:%Y-%m-%d %H:%M}"
        elif stuck:
            table, title = levels.stuck_pipeline(), f"stuck pipeline as of {fn.as_of_:%Y-%m-%d %H:%M}"
        elif sla:
            table, title = levels.table(), f"SLAs as of {fn.as_of_:%Y-%m-%d %H:%M}"
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
        econ = Economics(level=level).fit(ws)
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


def _in_unit(value: float, unit: str, currency: str) -> str:
    """A KPI value in a few characters: 33.3% for shares, 2.2M for money, 72.6 h for hours."""
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if unit == "share":
        return f"{100 * value:.1f}%"
    text = short_number(float(value))
    short = {"hours": "h", "days": "d"}.get(unit, unit)
    return text if unit in (currency, "count", "ratio", "") else f"{text} {short}"


def _scorecard_display(table, level: float, currency: str):
    """The scorecard for a terminal: value, interval and change in the KPI's unit, in five columns."""
    import pandas as pd

    def fmt(column: str) -> list[str]:
        return [_in_unit(v, u, currency) for v, u in zip(table[column], table["unit"], strict=True)]

    low, high = fmt("ci_low"), fmt("ci_high")
    change = [("+" if isinstance(v, float) and v > 0 else "") + c for v, c in zip(table["change"], fmt("change"),
                                                                                  strict=True)]  # fmt: skip
    return pd.DataFrame({"kpi": table["kpi"], "value": fmt("value"),
                         f"{level:.0%} interval": [f"{a}–{b}" if a and b else "" for a, b in zip(low, high, strict=True)],
                         "previous": fmt("previous_value"), "change": change})  # fmt: skip


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
        card = Scorecard(period=period.value, as_of=as_of, level=level, with_sql=fmt is not Format.table).fit(
            ws, upstream=_upstream(ws)
        )
        table = card.result_
    except ValueError as e:
        fail(str(e))
    finally:
        ws.close()
    if fmt is Format.json:
        render(
            {
                "as_of": card.as_of_.isoformat(),
                "period": card.current_label_,
                "previous_period": card.previous_label_,
                "currency": ws.definitions.workspace.currency,
                "kpis": records(table),
            },
            fmt,
        )
    elif fmt is Format.csv:
        render(table, fmt)
    else:
        title = f"scorecard {card.current_label_}" + (
            f" vs {card.previous_label_}" if card.previous_label_ else ""
        )
        currency = ws.definitions.workspace.currency
        # whole-history model results (incremental contribution) never sit under the quarter's title
        other = table["period"].astype(str) != str(card.current_label_)
        render(
            _scorecard_display(table.loc[~other], level, currency),
            fmt,
            title=f"{title} (money in {currency})",
        )
        for period, part in table.loc[other].groupby("period", sort=False):
            render(
                _scorecard_display(part, level, currency),
                fmt,
                title=f"scorecard {period} (money in {currency})",
            )
        for kpi, note in zip(table["kpi"], table["note"].fillna(""), strict=True):
            if note:
                err_console.print(f"note: {kpi}: {note}", highlight=False, soft_wrap=True, markup=False)
