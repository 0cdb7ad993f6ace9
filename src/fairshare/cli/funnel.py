"""Commands for the funnel, economics and the scorecard: funnel, economics, scorecard."""

from __future__ import annotations

import contextlib
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer

from fairshare.cli.app import FormatOption, LevelOption, WorkspaceOption, app
from fairshare.cli.data import open_workspace
from fairshare.cli.output import Format, err_console, fail, records, render, short_number
from fairshare.cli.stored import RefitOption, stored_table

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


#: the interval level `fairshare run` fits the funnel, economics and scorecard at (their classes' default)
RUN_LEVEL = 0.9


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
    level: LevelOption = RUN_LEVEL,
    refit: RefitOption = False,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Stage conversion (90% intervals) and velocity; with --sla/--breaches/--stuck/--speed the SLAs.

    Reads the last run's stored tables while data and definitions are unchanged (as the API,
    dashboard and report do); another --as-of or --level, or --refit, fits the funnel now."""
    from fairshare.funnel import Funnel
    from fairshare.funnel.sla import ServiceLevels

    if breaches:
        name, title = "sla_breaches", "SLA breaches as of {:%Y-%m-%d %H:%M}"
    elif stuck:
        name, title = "stuck_pipeline", "stuck pipeline as of {:%Y-%m-%d %H:%M}"
    elif sla:
        name, title = "sla", "SLAs as of {:%Y-%m-%d %H:%M}"
    elif speed:
        name, title = "speed_to_lead", "speed to lead (handed-over leads)"
    elif by is not None:
        name, title = "funnel_breakdown", f"funnel by {by.value}"
    else:
        name, title = "funnel", "funnel"
    ws = open_workspace(workspace, read_only=True)
    try:
        same = as_of is None and level == RUN_LEVEL
        table = stored_table(ws, name, refit, same_options=same, say=fmt is Format.table)
        if table is not None:
            if by is not None and name == "funnel_breakdown":
                table = table[table["dimension"] == by.value].reset_index(drop=True)
            when = ws.facts.latest_event_time if "{" in title else None
        else:
            fn = Funnel(as_of=as_of, level=level).fit(ws)
            levels = ServiceLevels().fit(fn)
            table = {"sla_breaches": levels.breaches, "stuck_pipeline": levels.stuck_pipeline,
                     "sla": levels.table, "speed_to_lead": levels.speed_to_lead,
                     "funnel_breakdown": lambda: fn.breakdown(by.value), "funnel": fn.stages}[name]()  # fmt: skip
            when = fn.as_of_
    except ValueError as e:
        fail(str(e))
    finally:
        ws.close()
    if name == "sla" and fmt is Format.table:
        table = table.drop(columns=["definition"])
    render(table, fmt, title=title.format(when))


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
    level: LevelOption = RUN_LEVEL,
    refit: RefitOption = False,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Cost (media spend + sales time), CAC, pipeline and revenue per $ and per rep-hour, ROI three ways.

    Reads the last run's stored table while data and definitions are unchanged; another --model or
    --level, or --refit, fits now."""
    from fairshare.economics import Economics

    name = "prospecting" if prospecting else "economics"
    title = "revenue per rep-hour by program" if prospecting else f"economics by {by.value}"
    ws = open_workspace(workspace, read_only=True)
    try:
        same = model is None and level == RUN_LEVEL
        table = stored_table(ws, name, refit, same_options=same, say=fmt is Format.table)
        if table is None:
            econ = Economics(level=level).fit(ws)
            table = (
                econ.prospecting()
                if prospecting
                else econ.table(by.value, _upstream(ws), attribution_model=model)
            )
        elif not prospecting:
            table = table[table["dimension"] == by.value].reset_index(drop=True)
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


def _stored_periods(table) -> tuple[str, str | None]:
    """The stored scorecard's period and previous period (most rows are this quarter's KPIs; the
    whole-history model rows carry their own period)."""
    if table.empty:
        return "", None
    current = str(table["period"].astype(str).mode().iloc[0])
    previous = table.loc[table["period"].astype(str) == current, "previous_period"].dropna()
    return current, (str(previous.iloc[0]) if len(previous) else None)


@app.command("scorecard")
def scorecard_command(
    period: Annotated[Period, typer.Option("--period", help="quarter, month, year or all")] = Period.quarter,
    as_of: AsOfOption = None,
    level: LevelOption = RUN_LEVEL,
    refit: RefitOption = False,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,
) -> None:
    """The KPIs both teams agree on, this period vs the previous one, each with its definition and SQL.

    Reads the last run's stored scorecard (this quarter) while data and definitions are unchanged, as
    the API, dashboard and report do; another --period, --as-of or --level, or --refit, fits now."""
    from fairshare.scorecard import Scorecard

    ws = open_workspace(workspace, read_only=True)
    try:
        same = period is Period.quarter and as_of is None and level == RUN_LEVEL
        table = stored_table(ws, "scorecard", refit, same_options=same, say=fmt is Format.table)
        if table is not None:
            when = ws.facts.latest_event_time
            current, previous = _stored_periods(table)
        else:
            card = Scorecard(
                period=period.value, as_of=as_of, level=level, with_sql=fmt is not Format.table
            ).fit(ws, upstream=_upstream(ws))
            table, when, current, previous = (
                card.result_,
                card.as_of_,
                card.current_label_,
                card.previous_label_,
            )
    except ValueError as e:
        fail(str(e))
    finally:
        ws.close()
    if fmt is Format.json:
        render(
            {
                "as_of": when.isoformat(),
                "period": current,
                "previous_period": previous,
                "currency": ws.definitions.workspace.currency,
                "kpis": records(table),
            },
            fmt,
        )
    elif fmt is Format.csv:
        render(table, fmt)
    else:
        title = f"scorecard {current}" + (f" vs {previous}" if previous else "")
        currency = ws.definitions.workspace.currency
        # whole-history model results (incremental contribution) never sit under the quarter's title
        other = table["period"].astype(str) != str(current)
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
