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
from sklearn.base import BaseEstimator

from fairshare.economics import MARKETING_PROGRAM, Economics
from fairshare.funnel import Funnel
from fairshare.funnel.sla import ServiceLevels
from fairshare.intervals import median_interval, rate_interval
from fairshare.periods import PERIODS, period_bounds, period_label
from fairshare.result_kpis import TEAMS, forecast_row, upstream_rows

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

SCORECARD_COLUMNS = [
    "kpi", "label", "value", "unit", "ci_low", "ci_high", "period", "previous_period", "previous_value",
    "change", "definition", "source", "note", "better",
]  # fmt: skip
CURRENT, PREVIOUS = "current", "previous"
#: Published precision: money to the cent, every other figure to 1e-9, so that warehouses that sum
#: in another order (Spark, PostgreSQL) give the same scorecard as DuckDB, digit for digit.
MONEY_DECIMALS, FIGURE_DECIMALS = 2, 9


def _rounded(values: pd.Series, money: pd.Series) -> pd.Series:
    return values.round(FIGURE_DECIMALS).where(~money, values.round(MONEY_DECIMALS))


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
    better: str = "higher"  # which way is good: higher, lower, or neutral (spend); charts colour by it


class Scorecard(BaseEstimator):
    """The agreed KPIs of one workspace for a period and the one before it.

    `upstream` holds the run's model results (`contribution`, `attribution`); without them those
    KPIs are NaN with a note. `attribution_model` picks the attribution model for the attributed
    ROI (default "markov" when present, else "linear").
    """

    def __init__(
        self,
        period: str = "quarter",
        as_of: dt.datetime | str | None = None,
        attribution_model: str | None = None,
        level: float = 0.9,
        with_sql: bool = True,
    ):
        self.period = period
        self.as_of = as_of
        self.attribution_model = attribution_model
        self.level = level
        self.with_sql = with_sql

    def fit(self, ws: Workspace, upstream: dict[str, pd.DataFrame] | None = None) -> Scorecard:
        """The KPIs of `ws` (`result_`, SCORECARD_COLUMNS); `upstream` as in the class docstring."""
        if self.period not in PERIODS:
            raise ValueError(f"unknown period {self.period!r}; known: {', '.join(PERIODS)}")
        self.ws_ = ws
        self.upstream_ = upstream or {}
        self.funnel_ = Funnel(as_of=self.as_of, level=self.level).fit(ws)  # facts from ws.facts, built once
        self.economics_ = Economics(level=self.level).fit(ws, funnel=self.funnel_)
        self.service_levels_ = ServiceLevels().fit(self.funnel_)
        self.as_of_ = self.funnel_.as_of_
        if self.period == "all":
            self.bounds_ = None
            self.current_label_, self.previous_label_ = "all", None
        else:
            self.bounds_ = period_bounds(self.as_of_, self.period)
            self.current_label_ = period_label(self.bounds_[1], self.period)
            self.previous_label_ = period_label(self.bounds_[0], self.period)
        self._bases: dict[str, ir.Table] = {}
        self._flags: ir.Table | None = None
        self.result_ = self.table()
        return self

    # --- fact tables -----------------------------------------------------------------------------

    def _opportunity_base(self, cached: bool) -> ir.Table:
        from fairshare.attribution.sourced import opportunity_flags

        of = self.funnel_.opportunity_facts(cached=cached)
        if self._flags is None:
            self._flags = opportunity_flags(self.ws_).select(
                f_id=_.opportunity_id, sourced_by=_.source.lower(), influenced=_.influenced_by_marketing
            )
        flags = self.funnel_.temporary.materialize(self._flags) if cached else self._flags
        j = of.left_join(flags, of.opportunity_id == flags.f_id)
        return j.select(
            "opportunity_id", "account_id", "created_at", "closed_at", "amount", "is_won", "is_closed",
            sourced_by=j.sourced_by.fill_null("other"), influenced=j.influenced.fill_null(False),
        )  # fmt: skip

    def _bases_builders(self) -> dict[str, Callable[[bool], ir.Table]]:
        return {
            "opportunity_facts": self._opportunity_base,
            "lead_sla_facts": lambda cached: self.service_levels_.lead_sla_facts(cached=cached),
            "activity_costs": lambda cached: (
                self.economics_.activity_costs() if cached else self.economics_._activity_costs()
            ),
            "media_spend": lambda cached: self.economics_.media_spend(),
        }

    def base(self, name: str) -> ir.Table:
        """A fact table, materialized once (temporary warehouse table)."""
        if name not in self._bases:
            built = self._bases_builders()[name](True)
            materialize = name in ("opportunity_facts", "media_spend")
            self._bases[name] = self.funnel_.temporary.materialize(built) if materialize else built
        return self._bases[name]

    def _placeholder(self, name: str) -> ir.Table:
        return ibis.table(self.base(name).schema(), name=name)

    def _in_period(self, at: ir.Value) -> ir.StringValue:
        if self.bounds_ is None:
            return ibis.literal(CURRENT)
        prev, cur, end = (ibis.timestamp(b) for b in self.bounds_)
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
        f = self.ws_.definitions.funnel
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
        d = self.ws_.definitions
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
                value="speed_hours", sample="contact_hours", better="lower"),
            KPI("never_contacted_share", "Never contacted", "share", "contact",
                f"{handed} created in the period, past their {s.first_contact_hours:g}-hour first-contact due "
                f"time, with no sales activity as of {self.as_of_:%Y-%m-%d %H:%M}",
                numerator="never", denominator="judged", better="lower"),
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
                value="spend", better="neutral"),
            KPI("sales_time_cost", "Sales time cost", cur, "sales_time",
                "sum of activity duration_s / 3600 x the rep's hourly_cost, activities in the period",
                value="sales_cost", better="neutral"),
        ]  # fmt: skip
        return kpis

    # --- evaluation ----------------------------------------------------------------------------------

    def _sql(self, names: tuple[str, ...], build: Callable[..., ir.Table], base_sql: dict[str, str]) -> str:
        if not self.with_sql:
            return ""
        body = ibis.to_sql(build(*[self._placeholder(n) for n in names]), dialect=self.ws_.con.name)
        for n in names:
            if n not in base_sql:
                base_sql[n] = ibis.to_sql(self._bases_builders()[n](False), dialect=self.ws_.con.name)
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
                   "source": sql[k.query], "note": "", "better": k.better}  # fmt: skip
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
        frame["period"] = frame.get("period", pd.Series(dtype=object)).fillna(self.current_label_)
        frame["previous_period"] = np.where(
            frame["period"] == self.current_label_, self.previous_label_, None
        )
        if self.bounds_ is None:
            frame["previous_value"] = np.nan
        money = frame["unit"] == self.ws_.definitions.workspace.currency
        for c in ("value", "ci_low", "ci_high", "previous_value"):
            frame[c] = _rounded(pd.to_numeric(frame[c], errors="coerce").astype(float), money)
        frame["change"] = _rounded(frame["value"] - frame["previous_value"], money)
        frame["better"] = frame["better"].fillna("higher") if "better" in frame else "higher"
        return frame[SCORECARD_COLUMNS]

    def _has_rows(self, table: str) -> bool:
        return int(self.ws_.table(table).count().execute()) > 0

    def _derived(self, base: pd.DataFrame) -> pd.DataFrame:
        """KPIs computed from other rows (cost, CAC, ROI) and from upstream model results."""
        d = self.ws_.definitions
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

        for key, label, unit, fn, better, definition in (
            ("cost", "Total cost", cur, cost, "neutral", "media spend + sales time cost in the period"),
            ("cac", "CAC", cur, cac, "lower",
             "total cost / customers (distinct accounts with a won deal closed in the period)"),
            ("roi", "ROI (bookings on total cost)", "ratio", roi, "higher", "(bookings - total cost) / total cost"),
            ("marketing_roi.sourced", "Marketing ROI (sourced)", "ratio", marketing_roi, "higher",
             f"(revenue sourced by marketing - marketing cost) / marketing cost; marketing cost = media spend + "
             f"sales time on leads sourced by {', '.join(d.teams.marketing_source_teams)}"),
        ):  # fmt: skip
            value, previous = pair(fn)
            rows.append({"kpi": key, "label": label, "unit": unit, "value": value, "previous_value": previous,
                         "ci_low": np.nan, "ci_high": np.nan, "definition": definition,
                         "source": f"-- bookings\n{sources['bookings']};\n{cost_src}", "note": "",
                         "better": better})  # fmt: skip
        rows += self._upstream_rows()
        return pd.DataFrame(rows)

    def _upstream_rows(self) -> list[dict]:
        """Incremental revenue by team and attributed / incremental marketing ROI (`result_kpis`)."""
        wanted = (
            self.upstream_.get("contribution") is not None or self.upstream_.get("attribution") is not None
        )
        source = (
            self.economics_.table("source").set_index("key")["cost"] if wanted else pd.Series(dtype=float)
        )
        marketing_cost = float(source.get(MARKETING_PROGRAM, np.nan))
        currency = self.ws_.definitions.workspace.currency
        return [*upstream_rows(self.upstream_, currency, marketing_cost, self.level, self.attribution_model),
                forecast_row(self.upstream_, currency)]  # fmt: skip

    def _forecast_row(self) -> dict:
        """This period's bookings forecast from the upstream `forecast` table (`result_kpis`)."""
        return forecast_row(self.upstream_, self.ws_.definitions.workspace.currency)


def results(ws: Workspace, upstream: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The `fairshare run` contract: {"scorecard": quarter over quarter}."""
    return {"scorecard": Scorecard().fit(ws, upstream=upstream).result_}
