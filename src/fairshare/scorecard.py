"""The scorecard: one table of the KPIs both teams agree on, every definition from `fairshare.toml`.

Each KPI is an Ibis expression over a few fact tables (opportunity, lead and cost facts built by
`funnel` and `economics`); its `source` column is that expression's SQL (`ibis.to_sql`, with the
fact tables as CTEs over the canonical tables), so both teams can audit and re-run it. KPIs
from model results (incremental revenue, attributed ROI) name the upstream table they read.

Period over period: `period="quarter"` (default) compares the quarter containing `as_of` (the
latest event time unless given; quarter to date) with the previous full quarter; `month` and
`year` work the same way; `all` reports the whole data without a previous period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis import _

from fairshare.economics import MARKETING_PROGRAM, Economics, attribution_model
from fairshare.funnel import Funnel
from fairshare.funnel.sla import ServiceLevels
from fairshare.intervals import median_interval, rate_interval
from fairshare.periods import PERIODS, period_bounds, period_label

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

SCORECARD_COLUMNS = [
    "kpi", "label", "value", "unit", "ci_low", "ci_high", "period", "previous_period", "previous_value",
    "change", "definition", "source", "note",
]  # fmt: skip
CURRENT, PREVIOUS = "current", "previous"
TEAMS = ("marketing", "sdr", "ae")


@dataclass
class KPI:
    """One scorecard row: which query computes it and how its value is read from the query."""

    kpi: str
    label: str
    unit: str
    query: str
    definition: str
    value: str | None = None  # column holding the value
    numerator: str | None = None  # for shares: numerator / denominator, with a Jeffreys interval
    denominator: str | None = None
    where: dict[str, str] = field(default_factory=dict)  # extra group keys of the query, e.g. source team
    sample: str | None = (
        None  # for medians: query whose `x` column holds the values (order-statistic interval)
    )


class Scorecard:
    """The agreed KPIs of one workspace for a period and the one before it.

    `upstream` holds the run's model results (`contribution`, `attribution`); without them those
    KPIs are NaN with a note. `attribution_model` picks the attribution model for the attributed
    ROI (default "markov" when present, else "linear").
    """

    def __init__(
        self,
        ws: Workspace,
        period: str = "quarter",
        as_of: dt.datetime | str | None = None,
        upstream: dict[str, pd.DataFrame] | None = None,
        attribution_model: str | None = None,
        level: float = 0.9,
        with_sql: bool = True,
    ):
        if period not in PERIODS:
            raise ValueError(f"unknown period {period!r}; known: {', '.join(PERIODS)}")
        self.ws = ws
        self.period = period
        self.upstream = upstream or {}
        self.attribution_model = attribution_model
        self.level = level
        self.with_sql = with_sql
        self.funnel = Funnel(ws, as_of=as_of, level=level)  # facts come from ws.facts, built once
        self.economics = Economics(ws, level=level, funnel=self.funnel)
        self.service_levels = ServiceLevels(self.funnel)
        self.as_of = self.funnel.as_of
        if period == "all":
            self.bounds = None
            self.current_label, self.previous_label = "all", None
        else:
            self.bounds = period_bounds(self.as_of, period)
            self.current_label = period_label(self.bounds[1], period)
            self.previous_label = period_label(self.bounds[0], period)
        self._bases: dict[str, ir.Table] = {}
        self._flags: ir.Table | None = None

    # --- fact tables -----------------------------------------------------------------------------

    def _opportunity_base(self, cached: bool) -> ir.Table:
        from fairshare.attribution.sourced import opportunity_flags

        of = self.funnel.opportunity_facts(cached=cached)
        if self._flags is None:
            self._flags = opportunity_flags(self.ws).select(
                f_id=_.opportunity_id, sourced_by=_.source.lower(), influenced=_.influenced_by_marketing
            )
        flags = self.funnel.temporary.materialize(self._flags) if cached else self._flags
        j = of.left_join(flags, of.opportunity_id == flags.f_id)
        return j.select(
            "opportunity_id", "account_id", "created_at", "closed_at", "amount", "is_won", "is_closed",
            sourced_by=j.sourced_by.fill_null("other"), influenced=j.influenced.fill_null(False),
        )  # fmt: skip

    def _bases_builders(self) -> dict[str, Callable[[bool], ir.Table]]:
        return {
            "opportunity_facts": self._opportunity_base,
            "lead_sla_facts": lambda cached: self.service_levels.lead_sla_facts(cached=cached),
            "activity_costs": lambda cached: (
                self.economics.activity_costs() if cached else self.economics._activity_costs()
            ),
            "media_spend": lambda cached: self.economics.media_spend(),
        }

    def base(self, name: str) -> ir.Table:
        """A fact table, materialized once (temporary warehouse table)."""
        if name not in self._bases:
            built = self._bases_builders()[name](True)
            materialize = name in ("opportunity_facts", "media_spend")
            self._bases[name] = self.funnel.temporary.materialize(built) if materialize else built
        return self._bases[name]

    def _placeholder(self, name: str) -> ir.Table:
        return ibis.table(self.base(name).schema(), name=name)

    def _in_period(self, at: ir.Value) -> ir.StringValue:
        if self.bounds is None:
            return ibis.literal(CURRENT)
        prev, cur, end = (ibis.timestamp(b) for b in self.bounds)
        return ibis.cases(
            ((at >= cur) & (at < end), ibis.literal(CURRENT)),
            ((at >= prev) & (at < cur), ibis.literal(PREVIOUS)),
            else_=ibis.null("string"),
        )

    def _periodic(self, t: ir.Table, at: ir.Value, by: list[str] | None = None, **aggs) -> ir.Table:
        t = t.mutate(period=self._in_period(at)).filter(_.period.notnull())
        return t.group_by(["period", *(by or [])]).aggregate(**aggs)

    # --- queries (each a function of the fact tables) ---------------------------------------------

    def _queries(self) -> dict[str, tuple[tuple[str, ...], Callable[..., ir.Table]]]:
        f = self.ws.definitions.funnel
        n_lead = len(f.lead_stages)

        def won(o):
            w = o.filter(o.is_won)
            return self._periodic(w, w.closed_at, bookings=_.amount.sum(), deals_won=_.count(),
                                  customers=_.account_id.nunique(),
                                  influenced_revenue=_.amount.sum(where=_.influenced))  # fmt: skip

        def closed(o):
            c = o.filter(o.is_closed)
            return self._periodic(c, c.closed_at, closed=_.count(), won=_.is_won.cast("int64").sum())

        def opened(o):
            return self._periodic(o, o.created_at, pipeline=_.amount.sum(), opportunities=_.count(),
                                  influenced_opportunities=_.influenced.cast("int64").sum())  # fmt: skip

        def sourced(o):
            w = o.filter(o.is_won)
            return self._periodic(w, w.closed_at, by=["sourced_by"], revenue=_.amount.sum())

        def conversion(lf):
            aggs = {}
            for k in range(n_lead):
                aggs[f"entered_{k}"] = _[f"reached_{k}"].cast("int64").sum()
                aggs[f"advanced_{k}"] = _[f"reached_{k + 1}"].cast("int64").sum()
            return self._periodic(lf, lf.created_at, **aggs)

        def contact(lf):
            h = lf.filter(lf.handed_over)
            return self._periodic(
                h, h.created_at,
                speed_hours=_.contact_hours.quantile(0.5),
                judged=_.contact_judged.cast("int64").sum(),
                never=(_.contact_judged & _.first_contact_at.isnull()).cast("int64").sum(),
                applicable=(~_.contact_pending).cast("int64").sum(),
                within=(~_.contact_pending & ~_.contact_breach).cast("int64").sum(),
            )  # fmt: skip

        def contact_hours(lf):
            h = lf.filter(lf.handed_over & lf.contact_hours.notnull())
            h = h.mutate(period=self._in_period(h.created_at)).filter(_.period.notnull())
            return h.select("period", x=h.contact_hours)

        def decision(lf):
            m = lf.filter(lf.mql_at.notnull() & ~lf.decision_pending)
            return self._periodic(
                m, m.mql_at, applicable=_.count(), within=(~_.decision_breach).cast("int64").sum()
            )

        def reason(lf):
            r = lf.filter(lf.rejected_at.notnull())
            return self._periodic(
                r, r.rejected_at, applicable=_.count(), within=(~_.reason_breach).cast("int64").sum()
            )

        def spend(sp):
            return self._periodic(sp, sp.date.cast("timestamp"), spend=_.amount.sum())

        def sales_time(a):
            return self._periodic(a, a.at, sales_cost=_.cost.sum(), sales_hours=_.hours.sum(),
                                  marketing_sales_cost=_.cost.sum(where=_.source == MARKETING_PROGRAM))  # fmt: skip

        return {
            "won": (("opportunity_facts",), won),
            "closed": (("opportunity_facts",), closed),
            "opened": (("opportunity_facts",), opened),
            "sourced": (("opportunity_facts",), sourced),
            "conversion": (("lead_sla_facts",), conversion),
            "contact": (("lead_sla_facts",), contact),
            "contact_hours": (("lead_sla_facts",), contact_hours),
            "decision": (("lead_sla_facts",), decision),
            "reason": (("lead_sla_facts",), reason),
            "spend": (("media_spend",), spend),
            "sales_time": (("activity_costs",), sales_time),
        }

    def _kpis(self) -> list[KPI]:
        d = self.ws.definitions
        f, s, a = d.funnel, d.sla, d.attribution
        cur = d.workspace.currency
        won_def = (f"opportunities won (is_won, else stage '{f.won_stage}' or a '{f.won_stage}' lifecycle row) "
                   f"with closed_at in the period")  # fmt: skip
        influence = (f"a marketing touch on the account or its contacts in the {a.lookback_days} days before "
                     f"the opportunity was created")  # fmt: skip
        sourced_rule = ("the opportunity's source_team (else its lead's); marketing = "
                        f"{', '.join(d.teams.marketing_source_teams)}") if a.sourced_by == "source_team" else (
                        f"the first touchpoint (marketing touch, SDR or AE activity) in the {a.lookback_days} "
                        "days before the opportunity was created")  # fmt: skip
        handed = (f"handed-over leads (reached {f.mql_stage}, or sourced by a team other than marketing and "
                  "sales)")  # fmt: skip
        kpis = [
            KPI("bookings", "Bookings", cur, "won", f"sum of amount of {won_def}", value="bookings"),
            KPI("deals_won", "Deals won", "count", "won", f"number of {won_def}", value="deals_won"),
            KPI("win_rate", "Win rate", "share", "closed",
                "won / closed opportunities, by closed_at in the period", numerator="won", denominator="closed"),
            KPI("pipeline_created", "Pipeline created", cur, "opened",
                "sum of amount of opportunities with created_at in the period", value="pipeline"),
            KPI("opportunities_created", "Opportunities opened", "count", "opened",
                "number of opportunities with created_at in the period", value="opportunities"),
            KPI("marketing_influenced_revenue", "Marketing Influenced Revenue", cur, "won",
                f"bookings of won opportunities with {influence}", value="influenced_revenue"),
            KPI("marketing_influenced_opportunities", "Marketing Influenced Opportunities Opened", "count",
                "opened", f"opportunities created in the period with {influence}",
                value="influenced_opportunities"),
        ]  # fmt: skip
        for team in (*TEAMS, "other"):
            kpis.append(KPI(f"sourced_revenue.{team}", f"Sourced revenue: {team}", cur, "sourced",
                            f"bookings of won opportunities sourced by {team}; sourced = {sourced_rule}",
                            value="revenue", where={"sourced_by": team}))  # fmt: skip
        stages = [*f.lead_stages, "opportunity"]
        for k in range(len(f.lead_stages)):
            kpis.append(KPI(f"conversion.{stages[k]}_to_{stages[k + 1]}", f"Conversion {stages[k]} → {stages[k + 1]}",
                            "share", "conversion",
                            f"leads created in the period that reached {stages[k + 1]} (or a later stage) / those "
                            f"that reached {stages[k]} (or later); stages from [funnel] lead_stages",
                            numerator=f"advanced_{k}", denominator=f"entered_{k}"))  # fmt: skip
        kpis += [
            KPI("speed_to_lead_hours", "Speed to lead (median)", "hours", "contact",
                f"median hours from creation to the first sales activity, {handed} created in the period; "
                "interval: order statistics (binomial interval for the median)",
                value="speed_hours", sample="contact_hours"),
            KPI("never_contacted_share", "Never contacted", "share", "contact",
                f"{handed} created in the period, past their {s.first_contact_hours:g}-hour first-contact due "
                f"time, with no sales activity as of {self.as_of:%Y-%m-%d %H:%M}",
                numerator="never", denominator="judged"),
            KPI("sla.first_contact", "SLA: first contact in time", "share", "contact",
                f"{handed} created in the period contacted within {s.first_contact_hours:g} hours "
                "(leads not yet due excluded)", numerator="within", denominator="applicable"),
            KPI("sla.mql_decision", "SLA: MQL decided in time", "share", "decision",
                f"{f.mql_stage}s (by MQL time in the period) accepted ({f.accepted_stage}) or rejected "
                f"({f.rejected_stage}) within {s.mql_decision_days:g} days", numerator="within",
                denominator="applicable"),
        ]  # fmt: skip
        if s.rejection_requires_reason:
            kpis.append(KPI("sla.rejection_reason", "SLA: rejections with a reason", "share", "reason",
                            f"leads rejected ({f.rejected_stage}) in the period that carry a reason",
                            numerator="within", denominator="applicable"))  # fmt: skip
        kpis += [
            KPI("media_spend", "Media spend", cur, "spend", "sum of spend.amount with date in the period",
                value="spend"),
            KPI("sales_time_cost", "Sales time cost", cur, "sales_time",
                "sum of activity duration_s / 3600 x the rep's hourly_cost, activities in the period",
                value="sales_cost"),
        ]  # fmt: skip
        return kpis

    # --- evaluation ----------------------------------------------------------------------------------

    def _sql(self, names: tuple[str, ...], build: Callable[..., ir.Table], base_sql: dict[str, str]) -> str:
        if not self.with_sql:
            return ""
        body = ibis.to_sql(build(*[self._placeholder(n) for n in names]), dialect=self.ws.con.name)
        for n in names:
            if n not in base_sql:
                base_sql[n] = ibis.to_sql(self._bases_builders()[n](False), dialect=self.ws.con.name)
        ctes = ",\n".join(f'"{n}" AS (\n{base_sql[n]}\n)' for n in names)
        body = str(body).strip()
        if body.upper().startswith("WITH "):
            return f"WITH {ctes},\n{body[5:]}"
        return f"WITH {ctes}\n{body}"

    def table(self) -> pd.DataFrame:
        """The scorecard (SCORECARD_COLUMNS), one row per KPI."""
        queries = self._queries()
        data: dict[str, pd.DataFrame] = {}
        sql: dict[str, str] = {}
        base_sql: dict[str, str] = {}
        for name, (names, build) in queries.items():
            data[name] = build(*[self.base(n) for n in names]).execute()
            sql[name] = self._sql(names, build, base_sql)
        self._data = data
        rows = []
        for k in self._kpis():
            frame = data[k.query]
            for col, val in k.where.items():
                frame = frame[frame[col] == val]
            by_period = {p: frame[frame["period"] == p] for p in (CURRENT, PREVIOUS)}
            row = {"kpi": k.kpi, "label": k.label, "unit": k.unit, "definition": k.definition,
                   "source": sql[k.query], "note": ""}  # fmt: skip
            for p, target in ((CURRENT, "value"), (PREVIOUS, "previous_value")):
                part = by_period[p]
                if k.value is not None:
                    v = part[k.value].sum() if len(part) else (np.nan if k.unit == "hours" else 0.0)
                    if k.unit == "hours" and len(part):
                        v = part[k.value].iloc[0]
                    row[target] = float(v) if pd.notna(v) else np.nan
                    if p == CURRENT:
                        row["ci_low"] = row["ci_high"] = np.nan
                        if k.sample is not None:
                            values = data[k.sample]
                            values = values.loc[values["period"] == CURRENT, "x"]
                            row["ci_low"], row["ci_high"] = median_interval(values, self.level)
                else:
                    num = float(part[k.numerator].sum()) if len(part) else 0.0
                    den = float(part[k.denominator].sum()) if len(part) else 0.0
                    row[target] = num / den if den > 0 else np.nan
                    if p == CURRENT:
                        low, high = rate_interval([num], [den], self.level)
                        row["ci_low"], row["ci_high"] = float(low[0]), float(high[0])
            rows.append(row)
        frame = pd.DataFrame(rows)
        frame = pd.concat([frame, self._derived(frame)], ignore_index=True)
        frame["period"] = frame.get("period", pd.Series(dtype=object)).fillna(self.current_label)
        frame["previous_period"] = np.where(frame["period"] == self.current_label, self.previous_label, None)
        if self.bounds is None:
            frame["previous_value"] = np.nan
        frame["change"] = frame["value"] - frame["previous_value"]
        for c in ("value", "ci_low", "ci_high", "previous_value", "change"):
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
        return frame[SCORECARD_COLUMNS]

    def _has_rows(self, table: str) -> bool:
        return int(self.ws.table(table).count().execute()) > 0

    def _derived(self, base: pd.DataFrame) -> pd.DataFrame:
        """KPIs computed from other rows (cost, CAC, ROI) and from upstream model results."""
        d = self.ws.definitions
        cur = d.workspace.currency
        v = base.set_index("kpi")
        rows = []
        sources = {k: v.loc[k, "source"] for k in ("bookings", "media_spend", "sales_time_cost")}
        cost_src = f"-- media spend\n{sources['media_spend']};\n-- sales time\n{sources['sales_time_cost']}"
        sales = self._data["sales_time"].set_index("period")
        won = self._data["won"].set_index("period")

        def get(frame, period, col):
            return (
                float(frame.loc[period, col])
                if period in frame.index and pd.notna(frame.loc[period, col])
                else 0.0
            )

        def pair(fn):
            return fn(CURRENT, "value"), fn(PREVIOUS, "previous_value")

        has_spend = self._has_rows("spend")
        has_sales_cost = self._has_rows("activities") and self._has_rows("reps")

        def cost(p, col):
            # Without spend rows (or without timed activities) total cost is unknown, not zero.
            if not (has_spend and has_sales_cost):
                return np.nan
            return float(np.nansum([v.loc["media_spend", col], v.loc["sales_time_cost", col]]))

        def cac(p, col):
            c, n = cost(p, col), get(won, p, "customers")
            return c / n if n > 0 and c > 0 else np.nan

        def roi(p, col):
            c = cost(p, col)
            return (v.loc["bookings", col] - c) / c if c > 0 else np.nan

        def marketing_cost(p, col):
            return float(v.loc["media_spend", col]) + get(sales, p, "marketing_sales_cost")

        def marketing_roi(p, col):
            c = marketing_cost(p, col)
            return (v.loc["sourced_revenue.marketing", col] - c) / c if c > 0 else np.nan

        for key, label, unit, fn, definition in (
            ("cost", "Total cost", cur, cost, "media spend + sales time cost in the period"),
            ("cac", "CAC", cur, cac, "total cost / customers (distinct accounts with a won deal closed in the period)"),
            ("roi", "ROI (bookings on total cost)", "ratio", roi, "(bookings - total cost) / total cost"),
            ("marketing_roi.sourced", "Marketing ROI (sourced)", "ratio", marketing_roi,
             f"(revenue sourced by marketing - marketing cost) / marketing cost; marketing cost = media spend + "
             f"sales time on leads sourced by {', '.join(d.teams.marketing_source_teams)}"),
        ):  # fmt: skip
            value, previous = pair(fn)
            rows.append({"kpi": key, "label": label, "unit": unit, "value": value, "previous_value": previous,
                         "ci_low": np.nan, "ci_high": np.nan, "definition": definition,
                         "source": f"-- bookings\n{sources['bookings']};\n{cost_src}", "note": ""})  # fmt: skip
        rows += self._upstream_rows()
        return pd.DataFrame(rows)

    def _upstream_rows(self) -> list[dict]:
        """Incremental revenue by team and attributed / incremental marketing ROI over the whole data."""
        cur = self.ws.definitions.workspace.currency
        contribution = self.upstream.get("contribution")
        attribution = self.upstream.get("attribution")
        rows = []
        marketing_cost = float(
            self.economics.table("source").set_index("key")["cost"].get(MARKETING_PROGRAM, np.nan)
        ) if contribution is not None or attribution is not None else np.nan  # fmt: skip
        for team in TEAMS:
            row = {"kpi": f"incremental_revenue.{team}", "label": f"Incremental revenue: {team}", "unit": cur,
                   "period": "all", "previous_value": np.nan, "value": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                   "definition": f"won revenue that would be lost without {team} work (counterfactual estimate, "
                                 f"{self.level:.0%} interval), whole data",
                   "source": f"upstream result table `contribution` where unit = '{team}' and key = 'all'",
                   "note": ""}  # fmt: skip
            match = None
            if contribution is not None and {"unit", "key", "estimate"} <= set(contribution.columns):
                hit = contribution[(contribution["unit"].astype(str) == team)
                                   & (contribution["key"].astype(str) == "all")]  # fmt: skip
                match = hit.iloc[0] if len(hit) else None
            if match is None:
                row["note"] = "no contribution estimate in this run"
            elif str(match.get("method", "")) == "omitted":
                row["note"] = f"not estimated: {match.get('assumptions', '')}"
            else:
                row.update(value=float(match["estimate"]), ci_low=float(match.get("ci_low", np.nan)),
                           ci_high=float(match.get("ci_high", np.nan)))  # fmt: skip
            rows.append(row)
        inc = rows[0]
        roi_inc = {"kpi": "marketing_roi.incremental", "label": "Marketing ROI (incremental)", "unit": "ratio",
                   "period": "all", "previous_value": np.nan, "value": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                   "definition": "(incremental revenue of marketing - marketing cost) / marketing cost, whole data; "
                                 "marketing cost = media spend + sales time on marketing-sourced leads",
                   "source": inc["source"], "note": inc["note"]}  # fmt: skip
        if marketing_cost > 0 and pd.notna(inc["value"]):
            roi_inc.update(value=(inc["value"] - marketing_cost) / marketing_cost,
                           ci_low=(inc["ci_low"] - marketing_cost) / marketing_cost,
                           ci_high=(inc["ci_high"] - marketing_cost) / marketing_cost)  # fmt: skip
        rows.append(roi_inc)
        roi_att = {"kpi": "marketing_roi.attributed", "label": "Marketing ROI (attributed)", "unit": "ratio",
                   "period": "all", "previous_value": np.nan, "value": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                   "definition": "(revenue credited to marketing by the attribution model - marketing cost) / "
                                 "marketing cost, whole data",
                   "source": "upstream result table `attribution` where by = 'team' and key = 'marketing'",
                   "note": ""}  # fmt: skip
        if attribution is None or not {"model", "key", "revenue"} <= set(attribution.columns):
            roi_att["note"] = "no attribution results in this run"
        else:
            model = attribution_model(attribution, self.attribution_model)
            hit = attribution[(attribution["model"].astype(str) == model)
                              & (attribution["key"].astype(str) == MARKETING_PROGRAM)]  # fmt: skip
            if "by" in hit.columns:
                hit = hit[hit["by"].astype(str) == "team"]
            roi_att["source"] += f" and model = '{model}'"
            if len(hit) and marketing_cost > 0:
                revenue = float(hit.iloc[0]["revenue"])
                roi_att["value"] = (revenue - marketing_cost) / marketing_cost
            else:
                roi_att["note"] = f"no {model} credit for marketing"
        rows.append(roi_att)
        rows.append(self._forecast_row())
        return rows

    def _forecast_row(self) -> dict:
        """This period's bookings forecast (P50, interval P10–P90) from the upstream `forecast` table."""
        cur = self.ws.definitions.workspace.currency
        row = {"kpi": "forecast_p50", "label": "Bookings forecast (P50)", "unit": cur, "previous_value": np.nan,
               "value": np.nan, "ci_low": np.nan, "ci_high": np.nan,
               "definition": "median of the deal Monte Carlo of the bookings of the period open at the latest event "
                             "(booked to date + open deals' win probabilities + new pipeline at the run-rate); interval = "
                             "the forecast's ci_low–ci_high (90%), stretched to the backtest's coverage",
               "source": "upstream result table `forecast` where rep_id = 'all'", "note": ""}  # fmt: skip
        forecast = self.upstream.get("forecast")
        if forecast is None or not {"rep_id", "p10", "p50", "p90"} <= set(forecast.columns):
            row["note"] = "no forecast in this run"
            return row
        hit = forecast[forecast["rep_id"].astype(str) == "all"]
        if hit.empty:
            row["note"] = "no total row in the forecast"
            return row
        f = hit.iloc[0]
        low, high = ("ci_low", "ci_high") if {"ci_low", "ci_high"} <= set(f.index) else ("p10", "p90")
        row.update(value=float(f["p50"]), ci_low=float(f[low]), ci_high=float(f[high]))
        if "period" in f.index and pd.notna(f["period"]):
            row["period"] = str(f["period"])
        if pd.notna(f.get("commit", np.nan)):
            row["note"] = (
                f"reps commit {float(f['commit']):,.0f} (percentile {float(f['commit_percentile']):.2f})"
            )
        return row


def results(ws: Workspace, upstream: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The `fairshare run` contract: {"scorecard": quarter over quarter}."""
    return {"scorecard": Scorecard(ws, upstream=upstream).table()}
