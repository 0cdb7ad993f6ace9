"""What each dashboard page (and the report) shows: sections of text, a chart and a table.

Builders take a `tables(name) -> DataFrame` function over stored results, so the dashboard (the
API's snapshot) and the report (the workspace's snapshot) render the same content.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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

    @classmethod
    def stored(
        cls, title: str, text: str, frame: pd.DataFrame, name: str, chart: Any = None, rows: int = 50
    ) -> Section:
        """A section showing the stored table `name` (first `rows` rows) and a chart of it, or saying
        that this run did not make the table."""
        return cls(title, text, figure=charts.figure_json(chart), table=charts.as_table(frame, rows),
                   missing=_missing(frame, name))  # fmt: skip


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    build: Callable[[Tables, str], list[Section]]


def _missing(frame: pd.DataFrame, tables_: str) -> str | None:
    return None if not frame.empty else f"not in this run ({tables_}); see the run log on the validation page"


def _money(value: object, currency: str) -> str:
    if value is None or pd.isna(value):
        return "–"
    v = float(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            return f"{v / size:,.2f}{suffix} {currency}".strip()
    return f"{v:,.0f} {currency}".strip()


def _team_value(row: dict, currency: str) -> str:
    """One team's incremental contribution in plain words, saying 'not identified' or 'assumption' as the row does."""
    period = f" in {row['period']}" if row.get("period") and not pd.isna(row.get("period")) else ""
    if (
        "identified" in row
        and row["identified"] is not None
        and not pd.isna(row["identified"])
        and not bool(row["identified"])
    ):
        return f"not identified{period}"
    text = f"{_money(row.get('estimate'), currency)} [{_money(row.get('ci_low'), currency)}, " \
           f"{_money(row.get('ci_high'), currency)}]{period}"  # fmt: skip
    method = str(row.get("method") or "").lower()
    if "assum" in method or method == "baseline":  # set by fairshare.toml [contribution], not estimated
        text += " (an assumption from fairshare.toml, not an estimate)"
    return text


def summary(tables: Tables, currency: str) -> list[Section]:
    """The first screen: what marketing, SDR and AE work are worth, the diagnosis, and what to do next."""
    head, recs = tables("diagnosis"), tables("diagnosis_recommendations")
    contribution = tables("contribution")
    lines = []
    if not contribution.empty and {"unit", "key", "estimate"} <= set(contribution.columns):
        unit, key = contribution["unit"].astype(str).str.lower(), contribution["key"].astype(str).str.lower()
        team = unit.where(
            key == "all", key
        )  # a team's row: unit marketing/sdr/ae with key all (or key = team)
        words = {"marketing": "Marketing", "sdr": "SDR outreach", "ae": "AE work"}
        rows = contribution.assign(team=team)
        for name, label in words.items():
            mine = rows[rows["team"] == name].to_dict(orient="records")
            if mine and _team_value(mine[0], currency).startswith("not identified"):
                lines.append(f"{label}: {_team_value(mine[0], currency)} (see the Contribution page).")
            elif mine:
                lines.append(f"{label} added {_team_value(mine[0], currency)} of revenue "
                             "(what revenue would have been without it, 90% interval).")  # fmt: skip
    if not head.empty:
        d = head.iloc[0]
        b1, b0 = float(d["bookings"]), float(d["previous_bookings"])
        change = f" ({(b1 / b0 - 1):+.0%})" if b0 else ""
        lines.append(f"Bookings in {d['period']}: {_money(b1, currency)} against {_money(b0, currency)} in "
                     f"{d['previous_period']}{change}. Primary cause: {d['primary_cause']}.")  # fmt: skip
    verdict = tables("prospecting_verdict")
    if not verdict.empty:
        from fairshare.prospecting import verdict as verdict_line

        lines.append(f"Cold calls, referrals, events or marketing leads? {verdict_line(verdict)}")
    if not recs.empty:
        top = recs.iloc[0]
        lines.append(f"Best next step: {top['action']}, worth about {_money(top['effect'], currency)} "
                     f"[{_money(top['ci_low'], currency)}, {_money(top['ci_high'], currency)}] a period.")  # fmt: skip
    shown = (
        recs.reindex(columns=["rank", "action", "effect", "ci_low", "ci_high", "cause"])
        if not recs.empty
        else recs
    )
    return [
        Section("In short", " ".join(lines) if lines else "", anchor="summary",
                missing=None if lines else _missing(head, "diagnosis, contribution")),
        Section("What to do next", "Ranked by expected effect per period (90% bootstrap intervals); the evidence "
                "for the diagnosis is on the Diagnosis part below.", table=charts.as_table(shown, 5),
                missing=_missing(recs, "diagnosis_recommendations"), anchor="recommendations"),
    ]  # fmt: skip


def diagnosis(tables: Tables, currency: str) -> list[Section]:
    evidence = tables("diagnosis_evidence")
    return [
        Section.stored("Diagnosis evidence", "Bookings = leads x lead quality x coverage x conversion x deal "
                       "size; each factor's effect is its share of the bookings change (90% bootstrap interval).",
                       evidence, "diagnosis_evidence"),
    ]  # fmt: skip


def scorecard(tables: Tables, currency: str) -> list[Section]:
    kpis, now = tables("scorecard"), tables("forecast")
    return [
        *diagnosis(tables, currency),
        Section.stored("Scorecard", "The KPIs both teams agreed on, each with its definition (fairshare.toml) and "
                       "source query.", kpis, "scorecard", charts.scorecard_chart(kpis), rows=100),
        Section.stored("Forecast", "What we will book this period: Monte Carlo over open pipeline and new deals "
                       "(P10/P50/P90), next to what each rep committed.",
                       now, "forecast", charts.forecast_chart(now, currency), rows=100),
    ]  # fmt: skip


def forecast(tables: Tables, currency: str) -> list[Section]:
    now, backtest, whatif = tables("forecast"), tables("forecast_backtest"), tables("forecast_whatif")
    return [
        Section.stored("Bookings forecast", "The period still open at the latest event (the next one when it is nearly "
                "over): per-deal win probabilities from stage, time in stage, activity, stakeholders and rep, plus "
                "pipeline not created yet; P10-P90 stretched so that 80% of past forecasts held the actual.",
                now, "forecast", charts.forecast_chart(now, currency), rows=100),
        Section.stored("Backtest", "Every past period forecast 10, 30, 45 and 60 days in with only the data known "
                "then, against what was booked and the reps' latest commit.",
                backtest, "forecast_backtest", charts.backtest_chart(backtest, currency), rows=100),
        Section.stored("Spend what-if", "Bookings of the next periods if one channel's budget changes by the stated "
                "share from now on (spend -> leads -> opportunities -> wins, each link from this workspace's "
                "history).", whatif, "forecast_whatif", charts.whatif_chart(whatif, currency), rows=100),
    ]  # fmt: skip


def funnel(tables: Tables, currency: str) -> list[Section]:
    stages, sla = tables("funnel"), tables("sla")
    breaches, stuck = tables("sla_breaches"), tables("stuck_pipeline")
    return [
        Section.stored("Funnel", "Stage conversion and velocity with intervals on rates.", stages, "funnel",
                       charts.funnel_chart(stages)),
        Section("Speed to lead", "Hours from lead creation to the first sales activity; leads never contacted.",
                table=charts.as_table(tables("speed_to_lead"))),
        Section("By segment", "Conversion by channel, campaign, source team, segment and rep.",
                table=charts.as_table(tables("funnel_breakdown"))),
        Section.stored("SLAs", "Compliance with the service levels in fairshare.toml [sla].", sla, "sla",
                       charts.sla_chart(sla)),
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


def _contribution_views(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stored contribution rows with how to read each (identified / not identified / assumption), and
    one row per strategy of each unit."""
    from fairshare.contribution.triangulate import status, strategies_of

    if table.empty:
        return table, table
    records = table.to_dict(orient="records")
    view = table.assign(status=[status(r) for r in records])
    keep = ["unit", "key", "estimate", "ci_low", "ci_high", "status", "method", "period", "proposal", "warnings",
            "assumptions", "sensitivity"]  # fmt: skip
    view = view[[c for c in keep if c in view]]
    parts = [{"unit": r["unit"], "key": r["key"], **{k: v for k, v in s.items()}}
             for r in records for s in strategies_of(r.get("strategies"))]  # fmt: skip
    return view, pd.DataFrame(parts)


def contribution(tables: Tables, currency: str) -> list[Section]:
    table, strategies = _contribution_views(tables("contribution"))
    period = (
        str(table["period"].dropna().iloc[0]) if "period" in table and table["period"].notna().any() else ""
    )
    return [
        Section.stored("Incremental contribution" + (f" ({period})" if period else ""),
                "What revenue would have been without each unit's work: each unit's estimate triangulated over the "
                "strategies that identify it, with 90% intervals. 'not identified' means nothing in this data "
                "identifies the unit (the interval is then the logical bounds, 0 to the won revenue, and the "
                "proposal names the experiment that would settle it); 'assumption' marks a stated assumption, "
                "not an estimate.", table, "contribution", charts.contribution_chart(table, currency)),
        Section("Strategies", "Every strategy of every unit with its own estimate and interval; only identified "
                "ones (variation the outcome does not drive) make up the reported interval.",
                table=charts.as_table(strategies, 100)),
        Section("Reconciliation", table=charts.as_table(tables("contribution_reconciliation"))),
        Section("Experiments", table=charts.as_table(tables("experiment"))),
    ]  # fmt: skip


def leads(tables: Tables, currency: str) -> list[Section]:
    table, queue = tables("leads"), tables("queue")
    top = queue.sort_values("value_per_hour", ascending=False) if "value_per_hour" in queue else queue
    return [
        Section("Lead value", "Value = P(win) x expected amount, with a conformal interval.",
                figure=charts.figure_json(charts.lead_value_chart(table, currency)),
                missing=_missing(table, "leads")),
        Section("Open leads", "The 50 open leads (no opportunity yet, not rejected) worth most per hour of work; "
                "each rep's own list is on the Queue page, every scored lead at /api/leads.",
                table=charts.as_table(top), missing=_missing(queue, "queue")),
    ]  # fmt: skip


QUEUE_SHOWN = ["rank", "lead_id", "account_id", "value_per_hour", "value", "p_win", "effort_hours", "sla_due_at",
               "urgent", "fits_capacity"]  # fmt: skip


def queue(tables: Tables, currency: str) -> list[Section]:
    table = tables("queue")
    if table.empty:
        return [Section("Work queue", missing=_missing(table, "queue"))]
    reps = sorted(table["rep_id"].dropna().unique())
    intro = Section("Work queue", "Each rep's open leads in the order to work them: uncontacted leads whose "
                    f"first-contact SLA falls due soon ([routing] urgent_hours) first, then most expected {currency} per hour "
                    "of work (P(win) x value / effort). 'fits_capacity' marks what fits one working day at the "
                    "rep's measured hours. Jump to a rep: " + ", ".join(reps) + ".",
                    figure=charts.figure_json(charts.queue_chart(table, currency)))  # fmt: skip
    out = [intro]
    for rep in reps:
        mine = table[table["rep_id"] == rep].sort_values("rank")
        fits = int(mine["fits_capacity"].sum()) if "fits_capacity" in mine else 0
        out.append(Section(f"{rep}: next {min(len(mine), 15)} of {len(mine)} open leads",
                           f"{fits} fit today; {int(mine['urgent'].sum()) if 'urgent' in mine else 0} SLA-urgent.",
                           table=charts.as_table(mine.reindex(columns=QUEUE_SHOWN), 15), anchor=f"rep-{rep}"))  # fmt: skip
    return out


def reps(tables: Tables, currency: str) -> list[Section]:
    table = tables("reps")
    return [
        Section.stored("Reps", "Closing ability net of lead quality, shrunk toward the team mean (90% intervals).",
                       table, "reps", charts.reps_chart(table), rows=200),
        *rep_factors(tables, currency),
    ]  # fmt: skip


REP_FACTORS_TEXT = (
    "Each factor net of lead and territory quality (lead scores at arrival, deal size, region), shrunk toward "
    "the team mean, 90% intervals: consistency (cadence completion: follow-ups after each meeting; active days), "
    "speed (hours from a meeting to its first follow-up), product knowledge (objections overcome; demo to "
    "proposal conversion), closing (ability above). Team mood cannot be measured from CRM data: it is not shown."
)


def rep_factors(tables: Tables, currency: str) -> list[Section]:
    table = tables("rep_factors")
    if not table.empty:
        table = table[table["factor"] != "team_mood"]
    return [Section.stored("Rep factors", REP_FACTORS_TEXT, table, "rep_factors", rows=300)]


NOTE_THEME_SHOWN = ["theme", "n_notes", "n_deals", "share_deals", "win_rate", "win_rate_without", "lift", "ci_low",
                    "ci_high", "stage", "share_at_close", "sentiment", "top_terms"]  # fmt: skip


def notes(tables: Tables, currency: str) -> list[Section]:
    themes, signals, sentiment = tables("note_themes"), tables("note_signals"), tables("deal_sentiment")
    text = ("Themes found in activity notes without labels (TF-IDF + NMF), each with the win rate of closed deals "
            "that have it against those without (lift, 90% interval), the funnel stage where it is written most "
            "and its mean sentiment (VADER). A theme written at the close (share_at_close near 1) states the outcome: "
            "it is not a signal. Example notes may hold personal data: they are served to signed-in API users only "
            "(/api/notes), never in this page or the report.")  # fmt: skip
    out = [Section("Note themes", text, figure=charts.figure_json(charts.note_themes_chart(themes)),
                   table=charts.as_table(themes.reindex(columns=NOTE_THEME_SHOWN)) if not themes.empty else None,
                   missing=_missing(themes, "note_themes"))]  # fmt: skip
    if not signals.empty:
        out.append(Section("Deal signals", "5-fold cross-validated AUC of 'this deal will be won', deals read "
                           "as of a fixed number of days after creation, with and without note features; notes "
                           "written at or after the close are never used.", table=charts.as_table(signals)))  # fmt: skip
    if not sentiment.empty:
        closed = sentiment[sentiment["is_closed"].fillna(False).astype(bool)]
        by = closed.groupby(closed["is_won"].map({True: "won", False: "lost"}))[
            ["sentiment_mean", "sentiment_first", "sentiment_last", "sentiment_trend"]].mean().reset_index(names="outcome")  # fmt: skip
        out.append(Section("Sentiment over a deal", "Mean note sentiment per closed deal (first, last, trend), "
                           "by outcome; notes at the close left out.", table=charts.as_table(by)))  # fmt: skip
    return out


def economics(tables: Tables, currency: str) -> list[Section]:
    table, prospecting, verdict = tables("economics"), tables("prospecting"), tables("prospecting_verdict")
    return [
        Section.stored("Economics", "Cost = media spend + sales time; CAC and ROI attributed, sourced and "
                       "incremental.", table, "economics", charts.economics_chart(table)),
        Section("ROI three ways", "Attributed (one attribution model), sourced, and incremental (with intervals).",
                figure=charts.figure_json(charts.roi_chart(table))),
        Section("Prospecting", "Revenue per rep-hour by prospecting program.",
                figure=charts.figure_json(charts.prospecting_chart(prospecting)),
                table=charts.as_table(prospecting)),
        Section("Prospecting verdict", _verdict_text(verdict), table=charts.as_table(verdict),
                missing=_missing(verdict, "prospecting_verdict"), anchor="prospecting-verdict"),
    ]  # fmt: skip


def _verdict_text(table: pd.DataFrame) -> str:
    if table.empty:
        return ""
    from fairshare.prospecting import verdict

    return (f"{verdict(table)} Won revenue over rep hours and over media + sales time, 90% intervals from "
            "resampling accounts; marketing leads carry all media spend.")  # fmt: skip


def validation(tables: Tables, currency: str) -> list[Section]:
    table, log = tables("validation"), tables("run_log")
    return [
        Section.stored("How we know", "Each model's checks: cross-validation on this workspace's data and, on "
                       "simulated data, the estimate against the known truth.",
                       table, "validation", charts.validation_chart(table), rows=200),
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
    Page("queue", "Queue", queue),
    Page("reps", "Reps", reps),
    Page("notes", "Notes", notes),
    Page("economics", "Economics", economics),
    Page("validation", "Validation", validation),
)
