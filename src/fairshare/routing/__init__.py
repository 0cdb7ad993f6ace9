"""Routing: each rep's next-best open leads by expected $ per hour (`WorkQueue`), and its replay.

`results(ws, upstream)` makes the `queue` table for `fairshare run` from the scored `leads` table
and three warehouse facts (`queue_facts`): the open leads (no opportunity, not rejected, not yet
resolved) with their owner and first-contact SLA due time, and each rep's measured hours of
activity per working day. See docs/routing.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import numpy as np
import pandas as pd
from ibis import _

from fairshare.routing.queue import QUEUE_COLUMNS, WorkQueue
from fairshare.routing.replay import POLICIES, QueueReplay, rep_capacity

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

__all__ = ["POLICIES", "QUEUE_COLUMNS", "QueueReplay", "WorkQueue", "queue_facts", "rep_hours", "rep_capacity",
           "replay_facts", "results"]  # fmt: skip


def rep_hours(ws: Workspace) -> pd.DataFrame:
    """Per rep: team, hours_per_day (activity hours per day with activity), last_active_at."""
    con = ws.con
    minutes = ws.definitions.scoring.activity_minutes
    acts = con.table("activities")
    branches = [(acts.kind == k, 60.0 * m) for k, m in minutes.items()]
    default_s = ibis.cases(*branches, else_=0.0) if branches else ibis.literal(0.0)
    acts = acts.mutate(
        seconds=ibis.coalesce(acts.duration_s.cast("float64"), default_s), day=acts["at"].date()
    )
    per = acts.group_by("rep_id").agg(
        hours=_.seconds.sum() / 3600.0, days=_.day.nunique(), last_active_at=_["at"].max()
    )
    reps = con.table("reps").select("rep_id", "team")
    out = reps.left_join(per, reps.rep_id == per.rep_id).drop("rep_id_right").to_pandas()
    out["hours_per_day"] = out["hours"] / out["days"].where(out["days"] > 0)
    return out[["rep_id", "team", "hours_per_day", "last_active_at"]]


def queue_facts(ws: Workspace) -> pd.DataFrame:
    """Open leads: lead_id, created_at, sla_due_at (NaT once contacted), owner_rep_id (first rep to work it)."""
    from fairshare.scoring import workspace_outcomes

    con = ws.con
    defs = ws.definitions
    acts = con.table("activities").filter(_.lead_id.notnull())
    first = acts.group_by("lead_id").agg(
        first_contact_at=_["at"].min(), owner_rep_id=_.rep_id.argmin(_["at"])
    )
    rejected = (
        con.table("lifecycle")
        .filter((_.entity == "lead") & (_.stage == defs.funnel.rejected_stage))
        .select(r_id=_.entity_id)
        .distinct()
    )
    leads = con.table("leads").select("lead_id", "created_at")
    leads = leads.left_join(first, leads.lead_id == first.lead_id).drop("lead_id_right")
    leads = leads.anti_join(rejected, leads.lead_id == rejected.r_id)
    frame = leads.to_pandas()
    outcomes = workspace_outcomes(ws)
    open_ids = outcomes.index[(outcomes["opportunity"] == 0) & ~outcomes["resolved"].astype(bool)]
    frame = frame[frame["lead_id"].isin(open_ids)].copy()
    due = pd.to_datetime(frame["created_at"]) + pd.Timedelta(hours=defs.sla.first_contact_hours)
    frame["sla_due_at"] = due.where(frame["first_contact_at"].isna())
    return frame[["lead_id", "created_at", "sla_due_at", "owner_rep_id"]].reset_index(drop=True)


def replay_facts(ws: Workspace, leads: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(queued lead history, reps with leads_per_day, business-day flags) for `QueueReplay`.

    Queued leads: those not sourced by the reps themselves (source_team not sdr/ae). `calls` are the
    activities on the lead (the mean of worked leads for a lead never worked); a rep's leads_per_day
    is its capacity (`rep_capacity`: starts on the days its queue backed up, not mere throughput).
    """
    from fairshare.scoring import workspace_outcomes
    from fairshare.scoring.features import last_event

    con = ws.con
    acts = con.table("activities").filter(_.lead_id.notnull())
    first = acts.group_by("lead_id").agg(
        first_at=_["at"].min(), first_rep=_.rep_id.argmin(_["at"]), calls=_.count()
    )
    base = con.table("leads").select("lead_id", "created_at", "source_team")
    frame = base.left_join(first, base.lead_id == first.lead_id).drop("lead_id_right").to_pandas()
    frame = frame[~frame["source_team"].fillna("").str.lower().isin(["sdr", "ae"])]
    cols = ["lead_id", "p_win_at_arrival", "expected_amount", "value_per_hour", "effort_hours"]
    frame = frame.merge(leads[[c for c in cols if c in leads]], on="lead_id", how="inner")
    outcomes = workspace_outcomes(ws)
    frame = frame.join(outcomes[["won", "resolved"]], on="lead_id")
    created = pd.to_datetime(frame["created_at"])
    start = created.min().normalize()
    end = last_event(con) or created.max()
    frame["arrival_hours"] = (created - start).dt.total_seconds() / 3600
    frame["wait_hours"] = (pd.to_datetime(frame["first_at"]) - created).dt.total_seconds() / 3600
    frame["calls"] = frame["calls"].fillna(frame["calls"].mean()).fillna(1.0)
    frame["resolved"] = frame["resolved"].fillna(False).astype(bool)
    days = pd.date_range(start, pd.Timestamp(end).normalize(), freq="D")
    business = np.asarray(days.day_of_week < 5)
    hours = rep_hours(ws)
    reps = qualifying_reps(ws, hours, pd.Timestamp(end))
    capacity = rep_capacity(frame, business).set_index("rep_id")["leads_per_day"]
    reps = reps.assign(leads_per_day=reps["rep_id"].map(capacity).fillna(0.0))
    reps = reps[reps["leads_per_day"] > 0]
    return frame.reset_index(drop=True), reps[["rep_id", "leads_per_day"]], business


def qualifying_reps(ws: Workspace, hours: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """Reps who take new leads: active SDRs (AEs when there are none), with their hours per day."""
    active = pd.to_datetime(hours["last_active_at"]) >= now - pd.Timedelta(
        days=ws.definitions.routing.active_days
    )
    teams = ws.definitions.teams
    for team in (teams.sdr, teams.ae):
        chosen = hours[active & hours["team"].isin(team)]
        if len(chosen):
            return chosen
    return hours[active]


def build_queue(ws: Workspace, leads: pd.DataFrame) -> WorkQueue:
    """The fitted `WorkQueue` of the workspace for a scored lead table."""
    from fairshare.scoring.features import last_event

    now = last_event(ws.con) or pd.Timestamp.now()
    hours = rep_hours(ws)
    settings = ws.definitions.routing
    model = WorkQueue(urgent_hours=settings.urgent_hours, days=settings.capacity_days)
    return model.fit(leads, queue_facts(ws), qualifying_reps(ws, hours, now), as_of=now)


def results(ws: Workspace, upstream: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The `queue` table of a run (needs the scored `leads` of the same run)."""
    from fairshare.errors import AreaMissing

    leads = upstream.get("leads")
    if leads is None or leads.empty:
        raise AreaMissing("no scored leads in this run: the queue ranks the lead model's leads")
    return {"queue": build_queue(ws, leads).result_}
