"""Speed to lead, SLAs and stuck pipeline, over the lead and opportunity facts (`ws.facts`).

SLA thresholds come from `[sla]` in `fairshare.toml`. What is still open (a lead not yet contacted,
an MQL not yet decided, an open opportunity) is judged at the funnel's `as_of`, by default the
latest event time in the warehouse. Only aggregates and the lists of breaching leads and
opportunities come into pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis import _
from sklearn.base import BaseEstimator

from fairshare.config import Definitions
from fairshare.intervals import rate_interval
from fairshare.periods import DAY_SECONDS, HOUR_SECONDS, seconds

if TYPE_CHECKING:
    from fairshare.funnel.stages import Funnel

#: Lead sources that create the lead while working it (no hand-over, so no first-contact clock).
SALES_SOURCE_TEAMS = ("sdr", "ae")

SLA_COLUMNS = ["sla", "stage", "applicable", "breaches", "pending", "compliance", "ci_low", "ci_high", "target",
               "amount", "threshold", "threshold_unit", "definition"]  # fmt: skip
BREACH_COLUMNS = ["sla", "entity", "entity_id", "rep_id", "started_at", "due_at", "resolved_at",
                  "overdue_hours", "amount", "detail"]  # fmt: skip
STUCK_COLUMNS = ["opportunity_id", "account_id", "owner_rep_id", "stage", "amount", "created_at",
                 "last_activity_at", "days_idle", "as_of"]  # fmt: skip
SPEED_COLUMNS = ["source_team", "leads", "due", "contacted", "never_contacted", "never_contacted_share", "ci_low",
                 "ci_high", "median_hours", "p75_hours", "p90_hours", "within_sla_share"]  # fmt: skip


class ServiceLevels(BaseEstimator):
    """Speed to lead, SLA summary and breaches, stuck pipeline of one fitted funnel (its workspace,
    `as_of_` and interval level): `ServiceLevels().fit(funnel)`. Thresholds: `[sla]`."""

    def fit(self, funnel: Funnel) -> ServiceLevels:
        """Judge the SLAs of a fitted funnel (its facts, `as_of_` and level); `result_` is the SLA
        table (SLA_COLUMNS)."""
        self.funnel_ = funnel
        self.definitions_: Definitions = funnel.definitions_
        self.as_of_ = funnel.as_of_
        self.level_ = funnel.level
        self.result_ = self.table()
        return self

    def lead_sla_facts(self, cached: bool = True) -> ir.Table:
        """Lead facts plus SLA columns: handed_over, contact_hours, contact_breach/pending/judged,
        mql_at, decision_at, decision_breach/pending, reason_breach (`cached` as in
        `Funnel.opportunity_facts`)."""
        if not cached:
            return self._sla_columns(self.funnel_.lead_facts(cached=False))
        return self.funnel_.facts_.materialize(
            ("lead_sla", self.as_of_), lambda: self._sla_columns(self.funnel_.lead_facts())
        )

    def _sla_columns(self, lf: ir.Table) -> ir.Table:
        sla = self.definitions_.sla
        f = self.definitions_.funnel
        as_of = ibis.timestamp(self.as_of_)
        mql_k = self.funnel_.lead_stage_names.index(f.mql_stage)
        mql_at = lf[f"at_{mql_k}"]
        decided_at = ibis.least(lf.accepted_at, lf.rejected_at)
        decision_at = ibis.coalesce(decided_at, lf.accepted_at, lf.rejected_at)
        contact_due = seconds(lf.created_at) + sla.first_contact_hours * HOUR_SECONDS
        decision_due = seconds(mql_at) + sla.mql_decision_days * DAY_SECONDS
        now = seconds(as_of)
        contact_hours = (seconds(lf.first_contact_at) - seconds(lf.created_at)) / HOUR_SECONDS
        self_sourced = [*self.definitions_.teams.marketing_source_teams, *SALES_SOURCE_TEAMS]
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
        frame["ci_low"], frame["ci_high"] = rate_interval(frame["never_contacted"], n, self.level_)
        for c in ("median_hours", "p75_hours", "p90_hours"):
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
        return frame[SPEED_COLUMNS]

    def breaches(self) -> pd.DataFrame:
        """Every breaching lead and opportunity (BREACH_COLUMNS), one row per (sla, entity)."""
        sla = self.definitions_.sla
        t = self.lead_sla_facts()
        as_of_s = seconds(ibis.timestamp(self.as_of_))
        none = ibis.null("timestamp(6)")

        def lead(flag, name, started, due_s, resolved, end_s, detail) -> ir.Table:
            return _breach_rows(t.filter(flag), name, "lead", t.lead_id, t.first_contact_rep_id, started, due_s,
                                resolved, end_s, t.pipeline, detail)  # fmt: skip

        parts = [
            lead(t.contact_breach, "first_contact", t.created_at, t.contact_due, t.first_contact_at,
                 ibis.coalesce(seconds(t.first_contact_at), as_of_s),
                 ibis.ifelse(t.first_contact_at.isnull(), "never contacted", "contacted late")),
            lead(t.decision_breach, "mql_decision", t.mql_at, t.decision_due, t.decision_at,
                 ibis.coalesce(seconds(t.decision_at), as_of_s),
                 ibis.ifelse(t.decision_at.isnull(), "not decided", "decided late")),
        ]  # fmt: skip
        if sla.rejection_requires_reason:
            parts.append(lead(t.reason_breach, "rejection_reason", t.rejected_at, seconds(t.rejected_at), none,
                              seconds(t.rejected_at), ibis.literal("rejected without a reason")))  # fmt: skip
        stuck = self._stuck_expr()
        parts.append(
            _breach_rows(stuck, "stuck_opportunity", "opportunity", stuck.opportunity_id, stuck.owner_rep_id,
                         stuck.idle_since, seconds(stuck.idle_since) + sla.stuck_opportunity_days * DAY_SECONDS,
                         none, as_of_s, stuck.amount, ibis.literal("no activity, stage ") + stuck.stage.fill_null("?"))
        )  # fmt: skip
        expr = ibis.union(*parts)
        expr = expr.mutate(overdue_hours=(expr.end_s - expr.due_s) / HOUR_SECONDS)
        frame = expr.execute()
        frame["due_at"] = pd.to_datetime(frame["due_s"], unit="s")
        frame = frame.sort_values(["sla", "started_at", "entity_id"], kind="stable")
        return frame[BREACH_COLUMNS].reset_index(drop=True)

    def _stuck_expr(self) -> ir.Table:
        of = self.funnel_.opportunity_facts()
        limit = self.definitions_.sla.stuck_opportunity_days * DAY_SECONDS
        idle_since = ibis.coalesce(ibis.greatest(of.last_activity_at, of.created_at), of.created_at)
        now = seconds(ibis.timestamp(self.as_of_))
        opened = of.filter(~of.is_closed & (of.created_at <= ibis.timestamp(self.as_of_)))
        opened = opened.mutate(idle_since=idle_since, stage=of.current_stage)
        opened = opened.mutate(days_idle=(now - seconds(opened.idle_since)) / DAY_SECONDS)
        return opened.filter(opened.days_idle >= limit / DAY_SECONDS)

    def stuck_pipeline(self) -> pd.DataFrame:
        """Open opportunities with no activity for sla.stuck_opportunity_days as of `as_of`
        (STUCK_COLUMNS), most money first. Idle time counts from the last activity naming the
        opportunity, or from its creation when it has none."""
        s = self._stuck_expr()
        frame = s.select(
            "opportunity_id", "account_id", "owner_rep_id", "stage", "amount", "created_at",
            "last_activity_at", "days_idle",
        ).execute()  # fmt: skip
        frame["as_of"] = pd.Timestamp(self.as_of_)
        frame = frame.sort_values(["amount", "opportunity_id"], ascending=[False, True], kind="stable")
        return frame[STUCK_COLUMNS].reset_index(drop=True)

    def table(self) -> pd.DataFrame:
        """SLA summary (SLA_COLUMNS): first contact, MQL decision, rejection reason, never contacted,
        and stuck opportunities by stage (plus `all`) with the money at stake."""
        s = self.definitions_.sla
        f = self.definitions_.funnel
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
                            f"or after creation as of {self.as_of_:%Y-%m-%d %H:%M}"),
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
        of = self.funnel_.opportunity_facts()
        opened = of.filter(~of.is_closed & (of.created_at <= ibis.timestamp(self.as_of_)))
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
        order = {name: i for i, name in enumerate(self.definitions_.funnel.opportunity_stages)}
        by_stage = by_stage.sort_values("stage", key=lambda c: c.map(lambda v: (order.get(v, 99), str(v))))
        definition = (f"open opportunities with no activity for {s.stuck_opportunity_days:g} days as of "
                      f"{self.as_of_:%Y-%m-%d %H:%M}; amount = money at stake")  # fmt: skip
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
        frame["ci_low"], frame["ci_high"] = rate_interval(np.clip(ok, 0, None), n, self.level_)
        frame["target"] = frame["sla"].map(s.target)  # the agreed share, stored with the run for its chart
        return frame[SLA_COLUMNS]


def _breach_rows(rows: ir.Table, sla: str, entity: str, entity_id, rep_id, started, due_s, resolved, end_s, amount,
                 detail) -> ir.Table:  # fmt: skip
    """One breach per row of `rows` in the breach columns (due_at and overdue_hours are added after the union)."""
    return rows.select(sla=ibis.literal(sla), entity=ibis.literal(entity), entity_id=entity_id, rep_id=rep_id,
                       started_at=started.cast("timestamp(6)"), due_s=due_s, resolved_at=resolved.cast("timestamp(6)"),
                       end_s=end_s, amount=amount, detail=detail)  # fmt: skip
