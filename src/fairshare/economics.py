"""Economics: what each channel, campaign and source costs (media spend + sales time) and returns.

Sales time is activity `duration_s` x the rep's `hourly_cost` (`[economics] hourly_cost` when missing), charged to the campaign/channel of
the lead the activity worked (its `lead_id`, or its opportunity's `lead_id`). Activities with no
lead are charged to their prospecting program (cold_call, referral, event, ...) on the `source`
view, and to "(none)" on the channel and campaign views, so every view's total cost equals total
media spend + total sales time cost.

ROI is given three ways side by side: attributed (an attribution model's revenue credit, from the
run's `attribution` table), sourced (won revenue of the leads the row sourced) and incremental
(the `contribution` table's estimates, with intervals). A missing upstream table gives NaN and a
`note`, never an error.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis import _
from sklearn.base import BaseEstimator

from fairshare import warehouse
from fairshare.funnel import Funnel
from fairshare.intervals import ratio_interval_from_sums
from fairshare.periods import HOUR_SECONDS

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

NONE = "(none)"
VIEWS = ("channel", "campaign", "source")

#: Source programs: marketing leads, partner leads, and SDR/AE-sourced leads by the prospecting
#: motion of their first SDR activity (cold_call, referral, event, social, other).
MARKETING_PROGRAM = "marketing"
PARTNER_PROGRAM = "partner"

ECONOMICS_COLUMNS = [
    "dimension", "key", "spend", "sales_hours", "sales_cost", "cost", "leads", "opportunities", "won",
    "customers", "pipeline", "revenue", "cac", "cost_per_opportunity", "pipeline_per_dollar",
    "revenue_per_dollar", "pipeline_per_rep_hour", "revenue_per_rep_hour", "attribution_model",
    "attributed_revenue", "roi_attributed", "sourced_revenue", "roi_sourced", "incremental_revenue",
    "incremental_ci_low", "incremental_ci_high", "roi_incremental", "roi_incremental_ci_low",
    "roi_incremental_ci_high", "note",
]  # fmt: skip
PROSPECTING_COLUMNS = [
    "program", "units", "leads", "won", "rep_hours", "sales_cost", "revenue", "revenue_per_rep_hour",
    "ci_low", "ci_high", "cost_per_lead", "win_rate",
]  # fmt: skip


def _in_window(t: ir.Value, start: dt.datetime | None, end: dt.datetime | None) -> ir.BooleanValue:
    cond = ibis.literal(True)
    if start is not None:
        cond = cond & (t >= ibis.timestamp(start))
    if end is not None:
        cond = cond & (t < ibis.timestamp(end))
    return cond & t.notnull() if (start is not None or end is not None) else cond


def attribution_model(table: pd.DataFrame, requested: str | None = None) -> str:
    """The attribution model to read from an `attribution` table: `requested` (a Markov request also
    matches `markov_<order>`), by default Markov (lowest order) when present, else linear."""
    models = sorted(set(table["model"].astype(str)))
    want = requested or "markov"
    if want in models:
        return want
    markov = [m for m in models if m.startswith(f"{want}_")]
    if markov:
        return markov[0]
    return requested or "linear"


class Economics(BaseEstimator):
    """Cost and return tables of a workspace, optionally for a window [start, end) of time.

    Spend counts by `date`, sales time by activity time, leads by creation, pipeline by
    opportunity creation, won revenue by close time.
    """

    def __init__(self, start: dt.datetime | None = None, end: dt.datetime | None = None, level: float = 0.9):
        self.start, self.end = start, end
        self.level = level

    def fit(
        self, ws: Workspace, upstream: dict[str, pd.DataFrame] | None = None, funnel: Funnel | None = None
    ) -> Economics:
        """Costs and returns of `ws` (facts from `funnel`, default a funnel fitted on `ws`); `result_`
        stacks the channel, campaign and source views (`dimension` column), ROI read from `upstream`."""
        self.facts_of(ws, funnel)
        self.result_ = pd.concat([self.table(by, upstream) for by in VIEWS], ignore_index=True)
        return self

    def facts_of(self, ws: Workspace, funnel: Funnel | None = None) -> Economics:
        """Point the fact queries at `ws` (and `funnel`, default one fitted on `ws`) without the tables."""
        self.ws_ = ws
        self.funnel_ = funnel if funnel is not None else Funnel().fit(ws)
        return self

    def _cached(self, name: str, build) -> ir.Table:
        """`build()` materialized once per data version and window (a temporary warehouse table)."""
        return self.funnel_.facts_.materialize(("economics", name, self.start, self.end), build)

    # --- facts (Ibis) --------------------------------------------------------------------------

    def lead_keys(self) -> ir.Table:
        """Per lead: channel, campaign and source program (`lead_id`, `channel`, `campaign`, `source`)."""
        return self._cached("lead_keys", self._lead_keys)

    def _lead_keys(self) -> ir.Table:
        teams = self.ws_.definitions.teams
        leads = warehouse.leads_with_account(self.ws_.con)
        camps = self.funnel_.table("campaigns").select(c_id=_.campaign_id, c_channel=_.channel)
        reps = self.funnel_.table("reps").select(r_id=_.rep_id, r_team=_.team)
        acts = self.funnel_.table("activities").filter(_.lead_id.notnull())
        sdr = acts.join(reps, acts.rep_id == reps.r_id).filter(_.r_team.isin(list(teams.sdr)))
        first_sdr = sdr.group_by(f_lead=_.lead_id).agg(first_prospecting=_.prospecting.argmin(_.at))
        j = leads.left_join(camps, leads.campaign_id == camps.c_id)
        j = j.left_join(first_sdr, j.lead_id == first_sdr.f_lead)
        team = j.source_team.fill_null("other")
        source = ibis.cases(
            (team.isin(list(teams.marketing_source_teams)), ibis.literal(MARKETING_PROGRAM)),
            (team == "partner", ibis.literal(PARTNER_PROGRAM)),
            else_=j.first_prospecting.fill_null("other"),
        )
        return j.select(
            "lead_id",
            "account_id",
            "created_at",
            channel=ibis.coalesce(j.source_channel, j.c_channel, ibis.literal(NONE)),
            campaign=j.campaign_id.fill_null(NONE),
            source=source,
        )

    def activity_costs(self) -> ir.Table:
        """Per activity in the window: hours, cost (hours x the rep's hourly_cost) and the channel,
        campaign and source it is charged to."""
        return self._cached("activity_costs", self._activity_costs)

    def _activity_costs(self) -> ir.Table:
        acts = self.funnel_.table("activities")
        acts = acts.filter(_in_window(acts.at, self.start, self.end))
        reps = self.funnel_.table("reps").select(r_id=_.rep_id, hourly_cost=_.hourly_cost)
        opps = self.funnel_.table("opportunities").select(o_id=_.opportunity_id, o_lead=_.lead_id)
        keys = self.lead_keys().select(k_lead=_.lead_id, k_channel=_.channel, k_campaign=_.campaign,
                                       k_source=_.source)  # fmt: skip
        j = acts.left_join(reps, acts.rep_id == reps.r_id)
        j = j.left_join(opps, j.opportunity_id == opps.o_id)
        j = j.mutate(work_lead=ibis.coalesce(j.lead_id, j.o_lead))
        j = j.left_join(keys, j.work_lead == keys.k_lead)
        hours = j.duration_s.fill_null(0.0).cast("float64") / HOUR_SECONDS
        rate = j.hourly_cost.fill_null(float(self.ws_.definitions.economics.hourly_cost))
        return j.select(
            "activity_id",
            "at",
            "rep_id",
            "account_id",
            lead_id=j.work_lead,
            hours=hours,
            cost=hours * rate,
            channel=j.k_channel.fill_null(NONE),
            campaign=j.k_campaign.fill_null(NONE),
            source=ibis.coalesce(j.k_source, j.prospecting, ibis.literal(NONE)),
        )

    def media_spend(self) -> ir.Table:
        """Spend rows in the window with the channel, campaign and source they belong to."""
        spend = self.funnel_.table("spend")
        spend = spend.filter(_in_window(spend.date.cast("timestamp"), self.start, self.end))
        return spend.select(
            "date",
            amount=_.amount.fill_null(0.0),
            channel=_.channel.fill_null(NONE),
            campaign=_.campaign_id.fill_null(NONE),
            source=ibis.literal(MARKETING_PROGRAM),
        )

    def _opportunities(self) -> ir.Table:
        return self._cached("opportunities", self._opportunity_keys)

    def _opportunity_keys(self) -> ir.Table:
        of = self.funnel_.opportunity_facts()
        keys = self.lead_keys().select(k_lead=_.lead_id, k_channel=_.channel, k_campaign=_.campaign,
                                       k_source=_.source)  # fmt: skip
        j = of.left_join(keys, of.lead_id == keys.k_lead)
        return j.select(
            "opportunity_id",
            "account_id",
            "amount",
            "is_won",
            "created_at",
            "closed_at",
            channel=j.k_channel.fill_null(NONE),
            campaign=j.k_campaign.fill_null(NONE),
            source=ibis.coalesce(j.k_source, j.source_team, ibis.literal(NONE)),
        )

    # --- tables --------------------------------------------------------------------------------

    def totals(self) -> dict[str, float]:
        """Total media spend, sales hours and sales cost in the window (for reconciliation)."""
        spend = float(self.media_spend().amount.sum().execute() or 0.0)
        a = self.activity_costs().aggregate(hours=_.hours.sum(), cost=_.cost.sum()).execute().iloc[0]
        hours, cost = float(a["hours"] or 0.0), float(a["cost"] or 0.0)
        return {"spend": spend, "sales_hours": hours, "sales_cost": cost, "cost": spend + cost}

    def _facts(self) -> dict[str, pd.DataFrame]:
        """Spend, sales time, leads, opened and won opportunities aggregated by (channel, campaign,
        source) in five queries; the views are sums over these small tables (won deals also keep the
        account, for counting distinct customers)."""
        if hasattr(self, "_facts_cache"):
            return self._facts_cache
        keys = ["channel", "campaign", "source"]
        leads = self.lead_keys()
        o = self._opportunities()
        opened = o.filter(_in_window(o.created_at, self.start, self.end))
        won = o.filter(o.is_won & _in_window(o.closed_at, self.start, self.end))
        queries = {
            "spend": self.media_spend().group_by(keys).agg(spend=_.amount.sum()),
            "sales": self.activity_costs()
            .group_by(keys)
            .agg(sales_hours=_.hours.sum(), sales_cost=_.cost.sum()),
            "leads": leads.filter(_in_window(leads.created_at, self.start, self.end))
            .group_by(keys)
            .agg(leads=_.count()),
            "opened": opened.group_by(keys).agg(opportunities=_.count(), pipeline=_.amount.sum()),
            "won": won.group_by([*keys, "account_id"]).agg(won=_.count(), revenue=_.amount.sum()),
        }
        self._facts_cache = {name: q.execute() for name, q in queries.items()}
        return self._facts_cache

    def _view_frame(self, by: str) -> pd.DataFrame:
        facts = self._facts()
        frames = []
        for name, frame in facts.items():
            values = [c for c in frame.columns if c not in ("channel", "campaign", "source", "account_id")]
            g = frame.assign(key=frame[by].astype(str)).groupby("key")
            part = g[values].sum()
            if name == "won":
                part["customers"] = g["account_id"].nunique()
            frames.append(part)
        out = pd.concat(frames, axis=1).rename_axis("key").reset_index()
        for c in ("spend", "sales_hours", "sales_cost", "pipeline", "revenue"):
            out[c] = pd.to_numeric(out.get(c, 0.0)).fillna(0.0).astype(float)
        for c in ("leads", "opportunities", "won", "customers"):
            out[c] = pd.to_numeric(out.get(c, 0)).fillna(0).astype("int64")
        return out

    def table(self, by: str = "channel", upstream: dict[str, pd.DataFrame] | None = None,
              attribution_model: str | None = None) -> pd.DataFrame:  # fmt: skip
        """Costs, returns and ROI three ways per channel, campaign or source (ECONOMICS_COLUMNS)."""
        if by not in VIEWS:
            raise ValueError(f"unknown view {by!r}; known: {', '.join(VIEWS)}")
        upstream = upstream or {}
        out = self._view_frame(by)
        out.insert(0, "dimension", by)
        out["cost"] = out["spend"] + out["sales_cost"]
        cost = out["cost"].where(out["cost"] > 0)
        hours = out["sales_hours"].where(out["sales_hours"] > 0)
        out["cac"] = cost / out["customers"].where(out["customers"] > 0)
        out["cost_per_opportunity"] = cost / out["opportunities"].where(out["opportunities"] > 0)
        out["pipeline_per_dollar"] = out["pipeline"] / cost
        out["revenue_per_dollar"] = out["revenue"] / cost
        out["pipeline_per_rep_hour"] = out["pipeline"] / hours
        out["revenue_per_rep_hour"] = out["revenue"] / hours
        out["sourced_revenue"] = out["revenue"]
        out["roi_sourced"] = (out["sourced_revenue"] - cost) / cost
        notes: dict[str, list[str]] = {k: [] for k in out["key"]}
        model, attributed = self._attributed(by, upstream.get("attribution"), attribution_model, notes)
        out["attribution_model"] = model
        out["attributed_revenue"] = out["key"].map(attributed).astype(float)
        out["roi_attributed"] = (out["attributed_revenue"] - cost) / cost
        inc = self._incremental(by, upstream.get("contribution"), notes)
        for col in ("incremental_revenue", "incremental_ci_low", "incremental_ci_high"):
            out[col] = out["key"].map({k: v[col] for k, v in inc.items()}).astype(float)
        out["roi_incremental"] = (out["incremental_revenue"] - cost) / cost
        out["roi_incremental_ci_low"] = (out["incremental_ci_low"] - cost) / cost
        out["roi_incremental_ci_high"] = (out["incremental_ci_high"] - cost) / cost
        out["note"] = out["key"].map(lambda k: "; ".join(notes.get(k, [])))
        out = out.sort_values(["cost", "key"], ascending=[False, True], kind="stable")
        return out[ECONOMICS_COLUMNS].reset_index(drop=True)

    @staticmethod
    def _attributed(by, table, model, notes) -> tuple[str | None, dict[str, float]]:
        if table is None or table.empty or not {"model", "key", "revenue"} <= set(table.columns):
            for k in notes:
                notes[k].append("no attribution results in this run")
            return None, {}
        chosen = attribution_model(table, model)
        rows = table[table["model"].astype(str) == chosen]
        if "by" in rows.columns:
            rows = rows[rows["by"].astype(str) == {"source": "team"}.get(by, by)]
        values = dict(zip(rows["key"].astype(str), rows["revenue"].astype(float), strict=False))
        if by == "source":  # team credit maps onto the marketing program only
            values = {MARKETING_PROGRAM: values[MARKETING_PROGRAM]} if MARKETING_PROGRAM in values else {}
        for k in notes:
            if k not in values:
                notes[k].append(f"no {chosen} attribution credit for this {by}")
        return chosen, values

    @staticmethod
    def _incremental(by, table, notes) -> dict[str, dict[str, float]]:
        if table is None or table.empty or not {"unit", "key", "estimate"} <= set(table.columns):
            for k in notes:
                notes[k].append("no contribution estimates in this run")
            return {}
        out = {}
        for rec in table.to_dict(orient="records"):
            unit, key = str(rec["unit"]), str(rec["key"])
            name = key if (by == "channel" and unit == "channel") else None
            if by == "source" and unit == MARKETING_PROGRAM and key == "all":
                name = MARKETING_PROGRAM
            if name is not None and str(rec.get("method", "")) == "omitted":  # not estimable: NaN + reason
                if name in notes:
                    notes[name].append(f"incremental not estimated: {rec.get('assumptions', '')}")
                continue
            if name is not None:
                out[name] = {"incremental_revenue": rec["estimate"], "incremental_ci_low": rec.get("ci_low"),
                             "incremental_ci_high": rec.get("ci_high")}  # fmt: skip
        for k in notes:
            if k not in out and not any(n.startswith("incremental not estimated") for n in notes[k]):
                notes[k].append(f"no incremental estimate for this {by}")
        return out

    def prospecting(self) -> pd.DataFrame:
        """Revenue per rep-hour by source program (PROSPECTING_COLUMNS), with a 90% interval.

        Units are the program's leads (hours = all activity on the lead and its opportunities,
        revenue = its won amount) plus every prospecting activity that produced no lead (its hours,
        no revenue). The ratio Σrevenue / Σhours gets a delta-method (ratio estimator) interval.
        """
        acts = self.activity_costs()
        on_leads = (
            acts.filter(acts.lead_id.notnull())
            .group_by(h_lead=_.lead_id)
            .agg(hours=_.hours.sum(), cost=_.cost.sum())
        )
        of = self.funnel_.opportunity_facts()
        revenue = (
            of.filter(of.is_won & of.lead_id.notnull())
            .group_by(r_lead=_.lead_id)
            .agg(revenue=_.amount.sum(), won=_.count())
        )
        keys = self.lead_keys()
        keys = keys.filter(_in_window(keys.created_at, self.start, self.end))
        j = keys.left_join(on_leads, keys.lead_id == on_leads.h_lead)
        j = j.left_join(revenue, j.lead_id == revenue.r_lead)
        units = j.select(
            program=j.source,
            x=j.hours.fill_null(0.0),
            y=j.revenue.fill_null(0.0),
            c=j.cost.fill_null(0.0),
            is_lead=ibis.literal(1),
            won=j.won.fill_null(0),
        )
        loose = acts.filter(acts.lead_id.isnull() & (acts.source != NONE))
        loose = loose.select(program=_.source, x=_.hours, y=ibis.literal(0.0), c=_.cost, is_lead=ibis.literal(0),
                             won=ibis.literal(0).cast("int64"))  # fmt: skip
        allu = ibis.union(units.mutate(won=units.won.cast("int64")), loose)
        agg = (
            allu.group_by("program")
            .agg(
                units=_.count(),
                leads=_.is_lead.sum(),
                won=_.won.sum(),
                sx=_.x.sum(),
                sy=_.y.sum(),
                sc=_.c.sum(),
                sxx=(_.x * _.x).sum(),
                syy=(_.y * _.y).sum(),
                sxy=(_.x * _.y).sum(),
            )
            .execute()
        )
        sx, sy = agg["sx"].to_numpy(float), agg["sy"].to_numpy(float)
        r, low, high = ratio_interval_from_sums(
            agg["units"], sx, sy, agg["sxx"], agg["syy"], agg["sxy"], level=self.level
        )
        frame = pd.DataFrame({
            "program": agg["program"].astype(str),
            "units": agg["units"].astype("int64"),
            "leads": agg["leads"].fillna(0).astype("int64"),
            "won": agg["won"].fillna(0).astype("int64"),
            "rep_hours": sx,
            "sales_cost": agg["sc"].astype(float),
            "revenue": sy,
            "revenue_per_rep_hour": r,
            "ci_low": low,
            "ci_high": high,
        })  # fmt: skip
        leads = frame["leads"].where(frame["leads"] > 0)
        frame["cost_per_lead"] = frame["sales_cost"] / leads
        frame["win_rate"] = frame["won"] / leads
        return frame.sort_values("program").reset_index(drop=True)[PROSPECTING_COLUMNS]


def results(ws: Workspace, upstream: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The `fairshare run` contract: "economics" (channel, campaign and source views stacked, the
    `dimension` column says which) and "prospecting"."""
    econ = Economics().fit(ws, upstream)
    return {"economics": econ.result_, "prospecting": econ.prospecting()}
