"""What each dashboard page (and the report) shows: sections of text, a chart and a table.

Builders take a `tables(name) -> DataFrame` function over stored results, so the dashboard (the
API's snapshot) and the report (the workspace's snapshot) render the same content.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from fairshare.web import charts

Tables = Callable[[str], pd.DataFrame]


@dataclass
class Section:
    """A titled block: an explanation, at most one chart (Plotly JSON) and at most one table."""

    title: str
    text: str = ""
    figure: str | None = None
    table: dict | None = None
    missing: str | None = None
    anchor: str = field(default="")


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    build: Callable[[Tables, str], list[Section]]


def _missing(frame: pd.DataFrame, tables_: str) -> str | None:
    return None if not frame.empty else f"not in this run ({tables_}); see the run log on the validation page"


def scorecard(tables: Tables, currency: str) -> list[Section]:
    kpis = tables("scorecard")
    return [
        Section("Scorecard", "The KPIs both teams agreed on, each with its definition (fairshare.toml) and "
                "source query.", figure=charts.figure_json(charts.scorecard_chart(kpis)),
                table=charts.as_table(kpis, 100), missing=_missing(kpis, "scorecard")),
        Section("Forecast", "What we will book this period: Monte Carlo over open pipeline and new deals "
                "(P10/P50/P90), next to what each rep committed.",
                figure=charts.figure_json(charts.forecast_chart(tables("forecast"), currency)),
                table=charts.as_table(tables("forecast"), 100), missing=_missing(tables("forecast"), "forecast")),
    ]  # fmt: skip


def forecast(tables: Tables, currency: str) -> list[Section]:
    now, backtest, whatif = tables("forecast"), tables("forecast_backtest"), tables("forecast_whatif")
    return [
        Section("Bookings forecast", "The period still open at the latest event (the next one when it is nearly "
                "over): per-deal win probabilities from stage, time in stage, activity, stakeholders and rep, plus "
                "pipeline not created yet; P10-P90 stretched so that 80% of past forecasts held the actual.",
                figure=charts.figure_json(charts.forecast_chart(now, currency)),
                table=charts.as_table(now, 100), missing=_missing(now, "forecast")),
        Section("Backtest", "Every past period forecast 10, 30, 45 and 60 days in with only the data known then, "
                "against what was booked and the reps' latest commit.",
                figure=charts.figure_json(charts.backtest_chart(backtest, currency)),
                table=charts.as_table(backtest, 100), missing=_missing(backtest, "forecast_backtest")),
        Section("Spend what-if", "Bookings of the next periods if one channel's budget changes by the stated share "
                "from now on (spend -> leads -> opportunities -> wins, each link from this workspace's history).",
                figure=charts.figure_json(charts.whatif_chart(whatif, currency)),
                table=charts.as_table(whatif, 100), missing=_missing(whatif, "forecast_whatif")),
    ]  # fmt: skip


def funnel(tables: Tables, currency: str) -> list[Section]:
    stages, sla = tables("funnel"), tables("sla")
    breaches, stuck = tables("sla_breaches"), tables("stuck_pipeline")
    return [
        Section("Funnel", "Stage conversion and velocity with intervals on rates.",
                figure=charts.figure_json(charts.funnel_chart(stages)), table=charts.as_table(stages),
                missing=_missing(stages, "funnel")),
        Section("Speed to lead", "Hours from lead creation to the first sales activity; leads never contacted.",
                table=charts.as_table(tables("speed_to_lead"))),
        Section("By segment", "Conversion by channel, campaign, source team, segment and rep.",
                table=charts.as_table(tables("funnel_breakdown"))),
        Section("SLAs", "Compliance with the service levels in fairshare.toml [sla].",
                figure=charts.figure_json(charts.sla_chart(sla)), table=charts.as_table(sla),
                missing=_missing(sla, "sla")),
        Section("SLA breaches", "The breaching leads and opportunities (first 50).", table=charts.as_table(breaches)),
        Section("Stuck pipeline", "Open opportunities without activity for too long, with money at stake.",
                table=charts.as_table(stuck)),
    ]  # fmt: skip


def attribution(tables: Tables, currency: str) -> list[Section]:
    table = tables("attribution")
    groupings = list(dict.fromkeys(table["by"].dropna())) if "by" in table else [None]
    sections = [
        Section(f"Attribution by {by}" if by else "Attribution",
                "Every rule and the data-driven models side by side; bars show 90% bootstrap intervals.",
                figure=charts.figure_json(charts.attribution_chart(table, by)),
                missing=_missing(table, "attribution"))
        for by in groupings or [None]
    ]  # fmt: skip
    sections.append(Section("Sourced vs influenced", table=charts.as_table(tables("attribution_sourced"))))
    return sections


def contribution(tables: Tables, currency: str) -> list[Section]:
    table = tables("contribution")
    return [
        Section("Incremental contribution", "What revenue would have been without each unit's work "
                "(counterfactual estimates with 90% intervals, assumptions and sensitivity).",
                figure=charts.figure_json(charts.contribution_chart(table, currency)),
                table=charts.as_table(table), missing=_missing(table, "contribution")),
        Section("Reconciliation", table=charts.as_table(tables("contribution_reconciliation"))),
        Section("Experiments", table=charts.as_table(tables("experiment"))),
    ]  # fmt: skip


def leads(tables: Tables, currency: str) -> list[Section]:
    table = tables("leads")
    top = table.sort_values("value", ascending=False) if "value" in table else table
    return [
        Section("Lead value", "Value = P(win) x expected amount, with a conformal interval.",
                figure=charts.figure_json(charts.lead_value_chart(table, currency)),
                missing=_missing(table, "leads")),
        Section("Lead queue", "Top 50 leads by value; the API pages through all of them (/api/leads).",
                table=charts.as_table(top)),
    ]  # fmt: skip


def reps(tables: Tables, currency: str) -> list[Section]:
    table = tables("reps")
    return [
        Section("Reps", "Closing ability net of lead quality, shrunk toward the team mean (90% intervals).",
                figure=charts.figure_json(charts.reps_chart(table)), table=charts.as_table(table, 200),
                missing=_missing(table, "reps")),
    ]  # fmt: skip


def economics(tables: Tables, currency: str) -> list[Section]:
    table, prospecting = tables("economics"), tables("prospecting")
    return [
        Section("Economics", "Cost = media spend + sales time; CAC and ROI attributed, sourced and incremental.",
                figure=charts.figure_json(charts.economics_chart(table)), table=charts.as_table(table),
                missing=_missing(table, "economics")),
        Section("ROI three ways", "Attributed (one attribution model), sourced, and incremental (with intervals).",
                figure=charts.figure_json(charts.roi_chart(table))),
        Section("Prospecting", "Revenue per rep-hour by prospecting program.",
                figure=charts.figure_json(charts.prospecting_chart(prospecting)),
                table=charts.as_table(prospecting)),
    ]  # fmt: skip


def validation(tables: Tables, currency: str) -> list[Section]:
    table, log = tables("validation"), tables("run_log")
    return [
        Section("How we know", "Each model's checks: cross-validation on this workspace's data and, on "
                "simulated data, the estimate against the known truth.",
                figure=charts.figure_json(charts.validation_chart(table)), table=charts.as_table(table, 200),
                missing=_missing(table, "validation")),
        Section("Run log", "Which model areas ran, how long they took, and why any is missing.",
                table=charts.as_table(log)),
    ]  # fmt: skip


PAGES: tuple[Page, ...] = (
    Page("scorecard", "Scorecard", scorecard),
    Page("forecast", "Forecast", forecast),
    Page("funnel", "Funnel & SLAs", funnel),
    Page("attribution", "Attribution", attribution),
    Page("contribution", "Contribution", contribution),
    Page("leads", "Leads", leads),
    Page("reps", "Reps", reps),
    Page("economics", "Economics", economics),
    Page("validation", "Validation", validation),
)
