"""The funnel: stage conversion and velocity, speed to lead, SLA breaches and stuck pipeline.

Every fact is an Ibis expression over the canonical tables (`lead_facts`, `opportunity_facts`);
only aggregated tables and the lists of breaching leads/opportunities come into pandas.
Stage names, SLA thresholds and team names come from the definitions file (`fairshare.toml`).

"As of": SLAs that are still open (a lead not yet contacted, an MQL not yet decided, an open
opportunity) are judged at `as_of`, by default the latest event time in the warehouse (the
maximum of touch, activity, lifecycle, lead-creation and opportunity created/closed times).
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
from scipy import stats

from fairshare import warehouse
from fairshare.config import Definitions

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

HOUR = 3600.0
DAY = 86400.0

#: Employee-count bands of the `size_band` segment: (label, lowest employees), ascending.
SIZE_BANDS: tuple[tuple[str, int], ...] = (("1-49", 0), ("50-199", 50), ("200-999", 200), ("1000+", 1000))

#: Dimensions accepted by `Funnel.breakdown` (`segment` expands to industry, size_band, region).
DIMENSIONS = ("channel", "campaign", "source_team", "industry", "size_band", "region", "rep")
SEGMENT = ("industry", "size_band", "region")

#: Lead sources that create the lead while working it (no hand-over, so no first-contact clock).
SALES_SOURCE_TEAMS = ("sdr", "ae")

FUNNEL_COLUMNS = ["stage", "position", "cohort", "next_stage", "entered", "advanced", "decided", "rate",
                  "ci_low", "ci_high", "median_days"]  # fmt: skip
BREAKDOWN_COLUMNS = ["dimension", "value", *FUNNEL_COLUMNS]
SLA_COLUMNS = ["sla", "stage", "applicable", "breaches", "pending", "compliance", "ci_low", "ci_high",
               "amount", "threshold", "threshold_unit", "definition"]  # fmt: skip
BREACH_COLUMNS = ["sla", "entity", "entity_id", "rep_id", "started_at", "due_at", "resolved_at",
                  "overdue_hours", "amount", "detail"]  # fmt: skip
STUCK_COLUMNS = ["opportunity_id", "account_id", "owner_rep_id", "stage", "amount", "created_at",
                 "last_activity_at", "days_idle", "as_of"]  # fmt: skip
SPEED_COLUMNS = ["source_team", "leads", "due", "contacted", "never_contacted", "never_contacted_share", "ci_low",
                 "ci_high", "median_hours", "p75_hours", "p90_hours", "within_sla_share"]  # fmt: skip


def rate_interval(successes, trials, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Jeffreys interval (Beta(x+½, n−x+½) quantiles) for binomial rates; NaN where trials == 0."""
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    alpha = 1.0 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(x > 0, stats.beta.ppf(alpha / 2, x + 0.5, n - x + 0.5), 0.0)
        high = np.where(x < n, stats.beta.ppf(1 - alpha / 2, x + 0.5, n - x + 0.5), 1.0)
    empty = n <= 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def seconds(t: ir.TimestampValue) -> ir.FloatingValue:
    """Seconds since the epoch as a float (for differences between timestamps)."""
    return t.epoch_seconds().cast("float64")


def naive_utc(at: dt.datetime | str) -> dt.datetime:
    """`at` as a naive UTC datetime (the warehouse stores naive UTC; a time without zone is UTC)."""
    ts = pd.Timestamp(at)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


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


def size_band(employees: ir.IntegerValue) -> ir.StringValue:
    """The SIZE_BANDS label of an employee count (NULL when unknown)."""
    case = ibis.cases(
        *[(employees >= low, label) for label, low in reversed(SIZE_BANDS)], else_=ibis.null("string")
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
        self._sla_facts: ir.Table | None = None
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
            a_id=_.account_id, industry=_.industry, region=_.region, size_band=size_band(acc.employees)
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
                gap = (seconds(lf[f"at_{k + 1}"]) - seconds(lf[f"at_{k}"])) / DAY
                aggs[f"days_{k}"] = gap.quantile(0.5, where=gap >= 0)
        if by is None:
            return lf.aggregate(**aggs)
        return lf.group_by(value=lf[by].cast("string")).aggregate(**aggs)

    def _opportunity_aggregates(self, of: ir.Table, by: str | None) -> ir.Table:
        days = (seconds(of.closed_at) - seconds(of.created_at)) / DAY
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

    # --- speed to lead and SLAs ----------------------------------------------------------------

    def lead_sla_facts(self, cached: bool = True) -> ir.Table:
        """Lead facts plus SLA columns: handed_over, contact_hours, contact_breach/pending/judged,
        mql_at, decision_at, decision_breach/pending, reason_breach (`cached` as in
        `opportunity_facts`)."""
        if not cached:
            return self._sla_columns(self.lead_facts(cached=False))
        if self._sla_facts is None:
            self._sla_facts = self.temporary.materialize(self._sla_columns(self.lead_facts()))
        return self._sla_facts

    def _sla_columns(self, lf: ir.Table) -> ir.Table:
        sla = self.definitions.sla
        f = self.definitions.funnel
        as_of = ibis.timestamp(self.as_of)
        mql_k = self.lead_stage_names.index(f.mql_stage)
        mql_at = lf[f"at_{mql_k}"]
        decided_at = ibis.least(lf.accepted_at, lf.rejected_at)
        decision_at = ibis.coalesce(decided_at, lf.accepted_at, lf.rejected_at)
        contact_due = seconds(lf.created_at) + sla.first_contact_hours * HOUR
        decision_due = seconds(mql_at) + sla.mql_decision_days * DAY
        now = seconds(as_of)
        contact_hours = (seconds(lf.first_contact_at) - seconds(lf.created_at)) / HOUR
        self_sourced = [*self.definitions.teams.marketing_source_teams, *SALES_SOURCE_TEAMS]
        handed_over = mql_at.notnull() | ~lf.source_team.fill_null("other").isin(self_sourced)
        return lf.mutate(
            handed_over=handed_over,
            contact_hours=ibis.ifelse(handed_over, contact_hours, ibis.null("float64")),
            contact_due=contact_due,
            contact_breach=handed_over
            & ibis.ifelse(
                lf.first_contact_at.notnull(), seconds(lf.first_contact_at) > contact_due, now > contact_due
            ),
            contact_pending=handed_over & lf.first_contact_at.isnull() & (now <= contact_due),
            contact_judged=handed_over & (now > contact_due),
            mql_at=mql_at,
            decision_at=decision_at,
            decision_due=decision_due,
            decision_breach=mql_at.notnull()
            & ibis.ifelse(decision_at.notnull(), seconds(decision_at) > decision_due, now > decision_due),
            decision_pending=mql_at.notnull() & decision_at.isnull() & (now <= decision_due),
            reason_breach=lf.rejected_at.notnull()
            & (lf.rejection_reason.isnull() | (lf.rejection_reason.strip() == "")),
        )

    def speed_to_lead(self, leads: ir.Table | None = None) -> pd.DataFrame:
        """Speed to lead by source team plus an `all` row (SPEED_COLUMNS).

        Counts handed-over leads only: leads that reached the MQL stage, or were sourced by a team
        other than marketing and sales (partner, other); marketing leads that never became MQLs wait
        for no one, and SDR/AE-sourced leads are created while being worked. `leads` = handed-over
        leads, `due` = those whose first-contact SLA has expired as of `as_of`; hours run from lead
        creation to the first sales activity; never contacted = due and no activity yet; shares are
        of `due`."""
        t = leads if leads is not None else self.lead_sla_facts()
        t = t.filter(t.handed_over)
        contacted = t.first_contact_at.notnull()
        aggs = dict(
            leads=t.count(),
            due=t.contact_judged.cast("int64").sum(),
            contacted=contacted.cast("int64").sum(),
            never_contacted=(t.contact_judged & ~contacted).cast("int64").sum(),
            median_hours=t.contact_hours.quantile(0.5),
            p75_hours=t.contact_hours.quantile(0.75),
            p90_hours=t.contact_hours.quantile(0.9),
            within=(t.contact_judged & contacted & ~t.contact_breach).cast("int64").sum(),
        )
        total = t.aggregate(**aggs).execute().assign(source_team="all")
        teams = t.group_by(source_team=t.source_team.fill_null("other")).aggregate(**aggs).execute()
        frame = pd.concat([total, teams.sort_values("source_team")], ignore_index=True)
        for c in ("leads", "due", "contacted", "never_contacted", "within"):
            frame[c] = pd.to_numeric(frame[c]).fillna(0).astype("int64")
        n = frame["due"].to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["never_contacted_share"] = np.where(n > 0, frame["never_contacted"] / n, np.nan)
            frame["within_sla_share"] = np.where(n > 0, frame["within"] / n, np.nan)
        frame["ci_low"], frame["ci_high"] = rate_interval(frame["never_contacted"], n, self.level)
        for c in ("median_hours", "p75_hours", "p90_hours"):
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
        return frame[SPEED_COLUMNS]

    def sla_breaches(self) -> pd.DataFrame:
        """Every breaching lead and opportunity (BREACH_COLUMNS), one row per (sla, entity)."""
        sla = self.definitions.sla
        t = self.lead_sla_facts()
        as_of_s = seconds(ibis.timestamp(self.as_of))
        first = t.filter(t.contact_breach).select(
            sla=ibis.literal("first_contact"),
            entity=ibis.literal("lead"),
            entity_id=t.lead_id,
            rep_id=t.first_contact_rep_id,
            started_at=(t.created_at).cast("timestamp(6)"),
            due_s=t.contact_due,
            resolved_at=(t.first_contact_at).cast("timestamp(6)"),
            end_s=ibis.coalesce(seconds(t.first_contact_at), as_of_s),
            amount=t.pipeline,
            detail=ibis.ifelse(t.first_contact_at.isnull(), "never contacted", "contacted late"),
        )
        decision = t.filter(t.decision_breach).select(
            sla=ibis.literal("mql_decision"),
            entity=ibis.literal("lead"),
            entity_id=t.lead_id,
            rep_id=t.first_contact_rep_id,
            started_at=(t.mql_at).cast("timestamp(6)"),
            due_s=t.decision_due,
            resolved_at=(t.decision_at).cast("timestamp(6)"),
            end_s=ibis.coalesce(seconds(t.decision_at), as_of_s),
            amount=t.pipeline,
            detail=ibis.ifelse(t.decision_at.isnull(), "not decided", "decided late"),
        )
        parts = [first, decision]
        if sla.rejection_requires_reason:
            parts.append(
                t.filter(t.reason_breach).select(
                    sla=ibis.literal("rejection_reason"),
                    entity=ibis.literal("lead"),
                    entity_id=t.lead_id,
                    rep_id=t.first_contact_rep_id,
                    started_at=(t.rejected_at).cast("timestamp(6)"),
                    due_s=seconds(t.rejected_at),
                    resolved_at=(ibis.null("timestamp(6)")).cast("timestamp(6)"),
                    end_s=seconds(t.rejected_at),
                    amount=t.pipeline,
                    detail=ibis.literal("rejected without a reason"),
                )
            )
        stuck = self._stuck_expr()
        parts.append(
            stuck.select(
                sla=ibis.literal("stuck_opportunity"),
                entity=ibis.literal("opportunity"),
                entity_id=stuck.opportunity_id,
                rep_id=stuck.owner_rep_id,
                started_at=(stuck.idle_since).cast("timestamp(6)"),
                due_s=seconds(stuck.idle_since) + sla.stuck_opportunity_days * DAY,
                resolved_at=(ibis.null("timestamp(6)")).cast("timestamp(6)"),
                end_s=as_of_s,
                amount=stuck.amount,
                detail=ibis.literal("no activity, stage ") + stuck.stage.fill_null("?"),
            )
        )
        expr = ibis.union(*parts)
        expr = expr.mutate(overdue_hours=(expr.end_s - expr.due_s) / HOUR)
        frame = expr.execute()
        frame["due_at"] = pd.to_datetime(frame["due_s"], unit="s")
        frame = frame.sort_values(["sla", "started_at", "entity_id"], kind="stable")
        return frame[BREACH_COLUMNS].reset_index(drop=True)

    def _stuck_expr(self) -> ir.Table:
        of = self.opportunity_facts()
        limit = self.definitions.sla.stuck_opportunity_days * DAY
        idle_since = ibis.coalesce(ibis.greatest(of.last_activity_at, of.created_at), of.created_at)
        now = seconds(ibis.timestamp(self.as_of))
        opened = of.filter(~of.is_closed & (of.created_at <= ibis.timestamp(self.as_of)))
        opened = opened.mutate(idle_since=idle_since, stage=of.current_stage)
        opened = opened.mutate(days_idle=(now - seconds(opened.idle_since)) / DAY)
        return opened.filter(opened.days_idle >= limit / DAY)

    def stuck_pipeline(self) -> pd.DataFrame:
        """Open opportunities with no activity for sla.stuck_opportunity_days as of `as_of`
        (STUCK_COLUMNS), most money first. Idle time counts from the last activity naming the
        opportunity, or from its creation when it has none."""
        s = self._stuck_expr()
        frame = s.select(
            "opportunity_id", "account_id", "owner_rep_id", "stage", "amount", "created_at",
            "last_activity_at", "days_idle",
        ).execute()  # fmt: skip
        frame["as_of"] = pd.Timestamp(self.as_of)
        frame = frame.sort_values(["amount", "opportunity_id"], ascending=[False, True], kind="stable")
        return frame[STUCK_COLUMNS].reset_index(drop=True)

    def sla(self) -> pd.DataFrame:
        """SLA summary (SLA_COLUMNS): first contact, MQL decision, rejection reason, never contacted,
        and stuck opportunities by stage (plus `all`) with the money at stake."""
        s = self.definitions.sla
        f = self.definitions.funnel
        t = self.lead_sla_facts()
        agg = t.aggregate(
            leads=t.count(),
            contact_breaches=t.contact_breach.cast("int64").sum(),
            contact_pending=t.contact_pending.cast("int64").sum(),
            handed_over=t.handed_over.cast("int64").sum(),
            judged=t.contact_judged.cast("int64").sum(),
            never=(t.contact_judged & t.first_contact_at.isnull()).cast("int64").sum(),
            mqls=t.mql_at.notnull().cast("int64").sum(),
            decision_breaches=t.decision_breach.cast("int64").sum(),
            decision_pending=t.decision_pending.cast("int64").sum(),
            rejected=t.rejected_at.notnull().cast("int64").sum(),
            reason_breaches=t.reason_breach.cast("int64").sum(),
        ).execute().fillna(0).iloc[0]  # fmt: skip
        rows = [
            dict(sla="first_contact", stage=None, applicable=agg["handed_over"] - agg["contact_pending"],
                 breaches=agg["contact_breaches"], pending=agg["contact_pending"], amount=np.nan,
                 threshold=s.first_contact_hours, threshold_unit="hours",
                 definition=f"first sales activity on a handed-over lead ({f.mql_stage}, or sourced by a team "
                            f"other than marketing and sales) within {s.first_contact_hours:g} hours of its "
                            f"creation; leads not yet due are pending"),
            dict(sla="never_contacted", stage=None, applicable=agg["judged"], breaches=agg["never"],
                 pending=agg["contact_pending"], amount=np.nan, threshold=s.first_contact_hours,
                 threshold_unit="hours",
                 definition=f"handed-over leads past their first-contact due time with no sales activity at "
                            f"or after creation as of {self.as_of:%Y-%m-%d %H:%M}"),
            dict(sla="mql_decision", stage=f.mql_stage, applicable=agg["mqls"] - agg["decision_pending"],
                 breaches=agg["decision_breaches"], pending=agg["decision_pending"], amount=np.nan,
                 threshold=s.mql_decision_days, threshold_unit="days",
                 definition=f"an {f.mql_stage} is accepted ({f.accepted_stage}) or rejected ({f.rejected_stage}) "
                            f"within {s.mql_decision_days:g} days"),
        ]  # fmt: skip
        if s.rejection_requires_reason:
            rows.append(dict(sla="rejection_reason", stage=f.rejected_stage, applicable=agg["rejected"],
                             breaches=agg["reason_breaches"], pending=0, amount=np.nan, threshold=np.nan,
                             threshold_unit=None,
                             definition=f"every {f.rejected_stage} lead carries a reason"))  # fmt: skip
        of = self.opportunity_facts()
        opened = of.filter(~of.is_closed & (of.created_at <= ibis.timestamp(self.as_of)))
        open_by_stage = opened.group_by(stage=opened.current_stage).aggregate(
            n=_.count(), amount=_.amount.sum()
        )
        stuck_by_stage = (
            self._stuck_expr().group_by("stage").aggregate(stuck=_.count(), stuck_amount=_.amount.sum())
        )
        by_stage = (
            open_by_stage.execute()
            .merge(stuck_by_stage.execute(), on="stage", how="left")
            .fillna({"stuck": 0, "stuck_amount": 0.0})
        )
        order = {name: i for i, name in enumerate(self.definitions.funnel.opportunity_stages)}
        by_stage = by_stage.sort_values("stage", key=lambda c: c.map(lambda v: (order.get(v, 99), str(v))))
        definition = (f"open opportunities with no activity for {s.stuck_opportunity_days:g} days as of "
                      f"{self.as_of:%Y-%m-%d %H:%M}; amount = money at stake")  # fmt: skip
        for r in [*by_stage.to_dict(orient="records"),
                  {"stage": "all", "n": by_stage["n"].sum(), "stuck": by_stage["stuck"].sum(),
                   "stuck_amount": by_stage["stuck_amount"].sum()}]:  # fmt: skip
            rows.append(dict(sla="stuck_opportunity", stage=r["stage"], applicable=r["n"], breaches=r["stuck"],
                             pending=0, amount=float(r["stuck_amount"]), threshold=s.stuck_opportunity_days,
                             threshold_unit="days", definition=definition))  # fmt: skip
        frame = pd.DataFrame(rows)
        for c in ("applicable", "breaches", "pending"):
            frame[c] = pd.to_numeric(frame[c]).fillna(0).astype("int64")
        n = frame["applicable"].to_numpy(float)
        ok = n - frame["breaches"].to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["compliance"] = np.where(n > 0, ok / n, np.nan)
        frame["ci_low"], frame["ci_high"] = rate_interval(np.clip(ok, 0, None), n, self.level)
        return frame[SLA_COLUMNS]


def results(ws: Workspace, upstream: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The `fairshare run` contract: funnel, funnel_breakdown, sla, sla_breaches, stuck_pipeline,
    speed_to_lead."""
    fn = shared(ws, "funnel", lambda: Funnel(ws))
    return {
        "funnel": fn.stages(),
        "funnel_breakdown": fn.breakdown(["channel", "campaign", "source_team", "segment", "rep"]),
        "sla": fn.sla(),
        "sla_breaches": fn.sla_breaches(),
        "stuck_pipeline": fn.stuck_pipeline(),
        "speed_to_lead": fn.speed_to_lead(),
    }
