"""The funnel: stage conversion and velocity, overall and by channel, campaign, team, segment and rep.

Every fact is an Ibis expression over the canonical tables (`lead_facts`, `opportunity_facts`);
only aggregated tables come into pandas. Stage names and size bands come from the definitions file
(`fairshare.toml`). Speed to lead, SLAs and stuck pipeline live in `fairshare.sla`, over the same
facts; `results` returns both modules' tables.

"As of": what is still open (a lead not yet contacted, an open opportunity) is judged at `as_of`,
by default the latest event time in the warehouse (the maximum of touch, activity, lifecycle,
lead-creation and opportunity created/closed times).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis import _

from fairshare import warehouse
from fairshare.config import Definitions
from fairshare.intervals import rate_interval
from fairshare.periods import DAY_SECONDS, naive_utc, seconds

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

#: Dimensions accepted by `Funnel.breakdown` (`segment` expands to industry, size_band, region).
DIMENSIONS = ("channel", "campaign", "source_team", "industry", "size_band", "region", "rep")
SEGMENT = ("industry", "size_band", "region")

FUNNEL_COLUMNS = ["stage", "position", "cohort", "next_stage", "entered", "advanced", "decided", "rate",
                  "ci_low", "ci_high", "median_days"]  # fmt: skip
BREAKDOWN_COLUMNS = ["dimension", "value", *FUNNEL_COLUMNS]


def latest_event_time(ws: Workspace) -> dt.datetime:
    """The default "as of": the latest touch, activity, lifecycle, lead or opportunity time."""
    parts = [
        ws.table("touches").select(t=_.at),
        ws.table("activities").select(t=_.at),
        ws.table("lifecycle").select(t=_.at),
        ws.table("leads").select(t=_.created_at),
        ws.table("opportunities").select(t=_.created_at),
        ws.table("opportunities").select(t=_.closed_at),
    ]
    value = ibis.union(*parts).t.max().execute()
    if value is None or pd.isna(value):
        return dt.datetime(1970, 1, 1)
    return pd.Timestamp(value).to_pydatetime()


def size_band_labels(starts: list[int] | tuple[int, ...]) -> list[tuple[str, int]]:
    """(label, lowest employees) of each size band, ascending, from the employee counts where a new
    band starts: [50, 200, 1000] → 1-49, 50-199, 200-999, 1000+."""
    bounds = [0, *starts]
    out = []
    for i, low in enumerate(bounds):
        first = max(low, 1)
        out.append((f"{first}-{bounds[i + 1] - 1}" if i + 1 < len(bounds) else f"{first}+", low))
    return out


def size_band(employees: ir.IntegerValue, starts: list[int] | tuple[int, ...]) -> ir.StringValue:
    """The size band label of an employee count (`starts` as in `size_band_labels`; NULL when unknown)."""
    case = ibis.cases(
        *[(employees >= low, label) for label, low in reversed(size_band_labels(starts))],
        else_=ibis.null("string"),
    )
    return ibis.ifelse(employees.isnull(), ibis.null("string"), case)


_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _drop_quietly(con: ibis.BaseBackend, names: list[str]) -> None:
    for name in names:  # the connection may be closed already: its temp tables died with it
        with contextlib.suppress(Exception):
            con.drop_table(name, force=True)


class TemporaryTables:
    """Expressions materialized once as temporary warehouse tables (they die with the connection,
    and are dropped when their owner is garbage collected). Unlike Ibis's `cache()`, closing the
    workspace first is fine."""

    def __init__(self, con: ibis.BaseBackend):
        self.con = con
        self.names: list[str] = []
        weakref.finalize(self, _drop_quietly, con, self.names)

    def materialize(self, expr: ir.Table) -> ir.Table:
        name = f"_fairshare_tmp_{uuid.uuid4().hex[:16]}"
        table = self.con.create_table(name, expr, temp=True)
        self.names.append(name)
        return table


def _data_version(ws: Workspace) -> tuple:
    """Changes whenever the warehouse's data or the definitions change (import log + definitions)."""
    try:
        last = ws.con.table(warehouse.IMPORTS_TABLE).import_id.max().execute()
    except Exception:  # noqa: BLE001 (no import log: never share)
        return (object(),)
    return (id(ws.con), None if pd.isna(last) else int(last), id(ws.definitions))


def shared(ws: Workspace, name: str, factory: Callable[[], Any]) -> Any:
    """One `factory()` result per workspace object and data version: funnel, economics and scorecard
    in the same run reuse the same fact tables instead of rebuilding them."""
    version = _data_version(ws)
    slot = _SHARED.setdefault(ws, {})
    hit = slot.get(name)
    if hit is not None and hit[0] == version:
        return hit[1]
    value = factory()
    slot[name] = (version, value)
    return value


class Funnel:
    """Funnel facts and tables of one workspace, judged as of `as_of` (default: latest event time)."""

    def __init__(self, ws: Workspace, as_of: dt.datetime | str | None = None, level: float = 0.9):
        self.ws = ws
        self.definitions: Definitions = ws.definitions
        self.level = level
        self.as_of = naive_utc(as_of) if as_of is not None else latest_event_time(ws)
        self._lead_facts: ir.Table | None = None
        self._opportunity_facts: ir.Table | None = None
        self._tables: dict[str, ir.Table] = {}
        self.temporary = TemporaryTables(ws.con)

    def table(self, name: str) -> ir.Table:
        """A canonical table of the workspace (looked up once per Funnel)."""
        if name not in self._tables:
            self._tables[name] = self.ws.table(name)
        return self._tables[name]

    # --- facts (Ibis) ------------------------------------------------------------------------

    @property
    def lead_stage_names(self) -> list[str]:
        return list(self.definitions.funnel.lead_stages)

    @property
    def stage_names(self) -> list[str]:
        """The funnel order: lead stages, then opportunity, then the won stage."""
        return [*self.lead_stage_names, "opportunity", self.definitions.funnel.won_stage]

    def _accounts(self) -> ir.Table:
        acc = self.table("accounts")
        return acc.select(
            a_id=_.account_id,
            industry=_.industry,
            region=_.region,
            size_band=size_band(acc.employees, self.definitions.funnel.size_bands),
        )

    def first_contacts(self) -> ir.Table:
        """Per lead: the first sales activity at or after creation (on the lead, or on its contact when
        the activity names no lead and is not prospecting): first_contact_at, first_contact_rep_id.

        Prospecting activities (cold calls, referrals, events) that name no lead are outreach for new
        leads, not work on this one, so they do not count as its first contact."""
        leads = self.table("leads").select("lead_id", "contact_id", "created_at")
        acts = self.table("activities")
        by_lead = acts.filter(_.lead_id.notnull()).select(k_lead=_.lead_id, k_at=_.at, k_rep=_.rep_id)
        loose = acts.filter(_.lead_id.isnull() & _.contact_id.notnull() & _.prospecting.isnull())
        by_contact = leads.join(loose, leads.contact_id == loose.contact_id).select(
            k_lead=leads.lead_id, k_at=loose.at, k_rep=loose.rep_id
        )
        work = ibis.union(by_lead, by_contact)
        j = work.join(leads, work.k_lead == leads.lead_id).filter(_.k_at >= _.created_at)
        return j.group_by(fc_lead=_.k_lead).agg(
            first_contact_at=_.k_at.min(), first_contact_rep_id=_.k_rep.argmin(_.k_at)
        )

    def opportunity_facts(self, cached: bool = True) -> ir.Table:
        """One row per opportunity: won/closed resolved from columns or lifecycle, current stage,
        last activity, and the dimensions of its lead and account.

        `cached` (default) returns a temporary warehouse table computed once; `cached=False` the
        expression over the canonical tables (for showing its SQL)."""
        if not cached:
            return self._opportunity_expr()
        if self._opportunity_facts is None:
            self._opportunity_facts = self.temporary.materialize(self._opportunity_expr())
        return self._opportunity_facts

    def _opportunity_expr(self) -> ir.Table:
        f = self.definitions.funnel
        opps = self.table("opportunities")
        lc = self.table("lifecycle").filter(_.entity == "opportunity")
        olc = lc.group_by(lc_id=_.entity_id).agg(
            lc_won_at=_.at.min(where=_.stage == f.won_stage),
            lc_lost_at=_.at.min(where=_.stage == f.lost_stage),
            lc_stage=_.stage.argmax(_.at),
        )
        last = (
            self.table("activities")
            .filter(_.opportunity_id.notnull())
            .group_by(la_id=_.opportunity_id)
            .agg(last_activity_at=_.at.max(), sales_seconds=_.duration_s.sum())
        )
        leads = self.table("leads").select(
            l_id=_.lead_id, l_channel=_.source_channel, l_campaign=_.campaign_id, l_team=_.source_team
        )
        camps = self.table("campaigns").select(c_id=_.campaign_id, c_channel=_.channel)
        j = opps.left_join(olc, opps.opportunity_id == olc.lc_id)
        j = j.left_join(last, j.opportunity_id == last.la_id)
        j = j.left_join(leads, j.lead_id == leads.l_id)
        j = j.left_join(camps, j.l_campaign == camps.c_id)
        acc = self._accounts()
        j = j.left_join(acc, j.account_id == acc.a_id)
        is_won = ibis.coalesce(j.is_won, j.stage == f.won_stage, j.lc_won_at.notnull())
        closed_at = ibis.coalesce(
            j.closed_at, ibis.ifelse(is_won, j.lc_won_at, ibis.coalesce(j.lc_lost_at, j.lc_won_at))
        )
        lost_stage = ibis.coalesce(j.stage == f.lost_stage, j.lc_lost_at.notnull())
        is_closed = ibis.coalesce(j.is_closed, closed_at.notnull() | is_won | lost_stage)
        out = j.select(
            "opportunity_id",
            "account_id",
            "lead_id",
            "created_at",
            "amount",
            "owner_rep_id",
            closed_at=closed_at,
            is_won=is_won & is_closed,
            is_closed=is_closed,
            current_stage=ibis.coalesce(j.lc_stage, j.stage),
            last_activity_at=j.last_activity_at,
            channel=ibis.coalesce(j.l_channel, j.c_channel),
            campaign=j.l_campaign,
            source_team=ibis.coalesce(j.source_team, j.l_team),
            industry=j.industry,
            size_band=j.size_band,
            region=j.region,
            rep=j.owner_rep_id,
        )
        return out

    def lead_facts(self, cached: bool = True) -> ir.Table:
        """One row per lead: stage times (at_0 … at_{k} for the funnel stages), MQL decision, first
        contact, first opportunity and win, and the lead's dimensions (`cached` as in
        `opportunity_facts`)."""
        if not cached:
            return self._lead_expr(self.opportunity_facts(cached=False))
        if self._lead_facts is None:
            self._lead_facts = self.temporary.materialize(self._lead_expr(self.opportunity_facts()))
        return self._lead_facts

    def _lead_expr(self, opportunity_facts: ir.Table) -> ir.Table:
        f = self.definitions.funnel
        stages = self.lead_stage_names
        lc = self.table("lifecycle").filter(_.entity == "lead")
        pivot = lc.group_by(p_id=_.entity_id).agg(
            **{f"lc_{i}": _.at.min(where=_.stage == s) for i, s in enumerate(stages)},
            accepted_at=_.at.min(where=_.stage == f.accepted_stage),
            rejected_at=_.at.min(where=_.stage == f.rejected_stage),
            rejection_reason=_.reason.max(where=_.stage == f.rejected_stage),
        )
        opps = (
            opportunity_facts.filter(_.lead_id.notnull())
            .group_by(o_lead=_.lead_id)
            .agg(
                opportunity_at=_.created_at.min(),
                opportunity_id=_.opportunity_id.argmin(_.created_at),
                won_at=_.closed_at.min(where=_.is_won),
                pipeline=_.amount.sum(),
                won_amount=_.amount.sum(where=_.is_won),
            )
        )
        leads = warehouse.leads_with_account(self.ws.con)
        camps = self.table("campaigns").select(c_id=_.campaign_id, c_channel=_.channel)
        j = leads.left_join(pivot, leads.lead_id == pivot.p_id)
        fc = self.first_contacts()
        j = j.left_join(fc, j.lead_id == fc.fc_lead)
        j = j.left_join(opps, j.lead_id == opps.o_lead)
        j = j.left_join(camps, j.campaign_id == camps.c_id)
        acc = self._accounts()
        j = j.left_join(acc, j.account_id == acc.a_id)
        times = {"at_0": ibis.coalesce(j.created_at, j.lc_0)}
        times.update({f"at_{i}": j[f"lc_{i}"] for i in range(1, len(stages))})
        n = len(stages)
        times[f"at_{n}"] = j.opportunity_at
        times[f"at_{n + 1}"] = j.won_at
        out = j.select(
            "lead_id",
            "account_id",
            "contact_id",
            "created_at",
            "accepted_at",
            "rejected_at",
            "rejection_reason",
            "first_contact_at",
            "first_contact_rep_id",
            "opportunity_id",
            "pipeline",
            "won_amount",
            **times,
            channel=ibis.coalesce(j.source_channel, j.c_channel),
            campaign=j.campaign_id,
            source_team=j.source_team,
            industry=j.industry,
            size_band=j.size_band,
            region=j.region,
            rep=j.first_contact_rep_id,
        )
        # reached_k: the lead reached stage k or any later stage (leads may skip stages).
        last = len(self.stage_names) - 1
        reached = {}
        for k in range(last, -1, -1):
            here = out[f"at_{k}"].notnull()
            reached[f"reached_{k}"] = here if k == last else here | reached[f"reached_{k + 1}"]
        return out.mutate(**reached)

    # --- funnel tables -------------------------------------------------------------------------

    def _stage_aggregates(self, lf: ir.Table, by: str | None) -> ir.Table:
        n_lead = len(self.lead_stage_names)
        aggs = {}
        for k in range(n_lead + 1):  # lead stages and opportunity: conversion to the next one (leads)
            aggs[f"entered_{k}"] = lf[f"reached_{k}"].cast("int64").sum()
            if k < n_lead:
                aggs[f"advanced_{k}"] = lf[f"reached_{k + 1}"].cast("int64").sum()
                gap = (seconds(lf[f"at_{k + 1}"]) - seconds(lf[f"at_{k}"])) / DAY_SECONDS
                aggs[f"days_{k}"] = gap.quantile(0.5, where=gap >= 0)
        if by is None:
            return lf.aggregate(**aggs)
        return lf.group_by(value=lf[by].cast("string")).aggregate(**aggs)

    def _opportunity_aggregates(self, of: ir.Table, by: str | None) -> ir.Table:
        days = (seconds(of.closed_at) - seconds(of.created_at)) / DAY_SECONDS
        aggs = dict(
            opportunities=of.count(),
            closed=of.is_closed.cast("int64").sum(),
            won=of.is_won.cast("int64").sum(),
            won_days=days.quantile(0.5, where=of.is_won & (days >= 0)),
        )
        if by is None:
            return of.aggregate(**aggs)
        return of.group_by(value=of[by].cast("string")).aggregate(**aggs)

    def _rows(self, lead_agg: pd.Series | None, opp_agg: pd.Series | None) -> list[dict]:
        names = self.stage_names
        n_lead = len(self.lead_stage_names)
        rows = []
        for k, stage in enumerate(names):
            row = {"stage": stage, "position": k, "next_stage": names[k + 1] if k + 1 < len(names) else None}
            if k < n_lead:
                g = lead_agg if lead_agg is not None else {}
                entered, advanced = g.get(f"entered_{k}", 0), g.get(f"advanced_{k}", 0)
                row.update(cohort="leads", entered=entered, advanced=advanced, decided=entered,
                           median_days=g.get(f"days_{k}", np.nan))  # fmt: skip
            elif k == n_lead:  # opportunity → won: the win rate among closed opportunities
                g = opp_agg if opp_agg is not None else {}
                row.update(cohort="opportunities", entered=g.get("opportunities", 0), advanced=g.get("won", 0),
                           decided=g.get("closed", 0), median_days=g.get("won_days", np.nan))  # fmt: skip
            else:
                g = opp_agg if opp_agg is not None else {}
                row.update(cohort="opportunities", entered=g.get("won", 0), advanced=np.nan, decided=np.nan,
                           median_days=np.nan)  # fmt: skip
            rows.append(row)
        return rows

    def _finish(self, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        for c in ("entered", "advanced", "decided"):
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("Float64").fillna(np.nan).astype(float)
        has_next = frame["next_stage"].notna()
        adv = frame["advanced"].where(has_next, np.nan)
        dec = frame["decided"].where(has_next, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["rate"] = np.where(dec > 0, adv / dec, np.nan)
        low, high = rate_interval(adv.fillna(0), dec.fillna(0), self.level)
        frame["ci_low"] = np.where(has_next, low, np.nan)
        frame["ci_high"] = np.where(has_next, high, np.nan)
        frame["median_days"] = pd.to_numeric(frame["median_days"], errors="coerce").astype(float)
        for c in ("entered",):
            frame[c] = frame[c].fillna(0).astype("int64")
        return frame[columns].reset_index(drop=True)

    def stages(self, leads: ir.Table | None = None, opportunities: ir.Table | None = None) -> pd.DataFrame:
        """The funnel table (FUNNEL_COLUMNS): one row per stage in funnel order.

        Lead stages use the lead cohort (reached = reached this or a later stage; rate = advanced /
        entered); the opportunity row's rate is the win rate among closed opportunities (all
        opportunities, with or without a lead); median_days is the median time to the next stage.
        """
        lf = leads if leads is not None else self.lead_facts()
        of = opportunities if opportunities is not None else self.opportunity_facts()
        lead_agg = self._stage_aggregates(lf, None).execute().iloc[0]
        opp_agg = self._opportunity_aggregates(of, None).execute().iloc[0]
        return self._finish(pd.DataFrame(self._rows(lead_agg, opp_agg)), FUNNEL_COLUMNS)

    def breakdown(self, by: str | list[str] = "channel") -> pd.DataFrame:
        """The funnel by dimension (BREAKDOWN_COLUMNS): channel, campaign, source_team, industry,
        size_band, region, rep (or `segment` = industry, size_band, region). Lead stages group leads by
        the lead's value (rep = the rep of the first contact); the opportunity rows group opportunities
        by theirs (rep = owner)."""
        dims: list[str] = []
        for d in [by] if isinstance(by, str) else list(by):
            dims += list(SEGMENT) if d == "segment" else [d]
        unknown = [d for d in dims if d not in DIMENSIONS]
        if unknown:
            raise ValueError(f"unknown dimension(s) {unknown}; known: {', '.join(DIMENSIONS)}, segment")
        lf, of = self.lead_facts(), self.opportunity_facts()
        lead_parts = [self._stage_aggregates(lf, d).mutate(dimension=ibis.literal(d)) for d in dims]
        opp_parts = [self._opportunity_aggregates(of, d).mutate(dimension=ibis.literal(d)) for d in dims]
        lead_all = ibis.union(*lead_parts).execute()  # one query for every dimension
        opp_all = ibis.union(*opp_parts).execute()
        rows = []
        for d in dims:
            lead_agg = lead_all[lead_all["dimension"] == d].set_index("value")
            opp_agg = opp_all[opp_all["dimension"] == d].set_index("value")
            values = sorted(set(lead_agg.index) | set(opp_agg.index), key=lambda v: (pd.isna(v), str(v)))
            for v in values:
                la = lead_agg.loc[v] if v in lead_agg.index else None
                oa = opp_agg.loc[v] if v in opp_agg.index else None
                rows += [{"dimension": d, "value": v, **r} for r in self._rows(la, oa)]
        if not rows:
            return pd.DataFrame(columns=BREAKDOWN_COLUMNS)
        return self._finish(pd.DataFrame(rows), BREAKDOWN_COLUMNS)


def results(ws: Workspace, upstream: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The `fairshare run` contract: funnel, funnel_breakdown, and from `fairshare.sla`: sla,
    sla_breaches, stuck_pipeline, speed_to_lead."""
    from fairshare.sla import ServiceLevels

    fn = shared(ws, "funnel", lambda: Funnel(ws))
    levels = shared(ws, "sla", lambda: ServiceLevels(fn))
    return {
        "funnel": fn.stages(),
        "funnel_breakdown": fn.breakdown(["channel", "campaign", "source_team", "segment", "rep"]),
        "sla": levels.table(),
        "sla_breaches": levels.breaches(),
        "stuck_pipeline": levels.stuck_pipeline(),
        "speed_to_lead": levels.speed_to_lead(),
    }
