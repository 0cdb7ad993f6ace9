"""Account journeys: marketing touches and sales activities, ordered, per account and opportunity.

The one journey builder every attribution model uses. Everything is an Ibis expression run in
the warehouse; only the aggregated path table (or, for models that need times, the touchpoint
table) comes into Python.

A journey is one opportunity of an account (or, for an account with touches and no opportunity,
the account itself). Its touchpoints are the touches and activities on any of the account's
contacts (or the account directly) inside the lookback window before the journey's end:

- stage "revenue": the end is the close (created time while still open); a journey converts when
  the opportunity is won, with value = amount; lost and open opportunities and accounts without
  an opportunity are non-converting journeys;
- stage "pipeline": the end is the opportunity's creation; every opportunity converts, with
  value = amount; accounts with touches and no opportunity are the non-converting journeys.

Touchpoints are labelled by `by`: "channel" (touches by channel, activities by team label "SDR" /
"AE"), "campaign" (touches by campaign id, falling back to the channel; activities by team) or
"team" ("marketing" / "SDR" / "AE"). Rep teams map to SDR / AE through `[teams]` in
`fairshare.toml`; other teams become "other_sales".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypedDict, Unpack

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis import _

from fairshare import warehouse

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

By = Literal["channel", "campaign", "team"]
Stage = Literal["revenue", "pipeline"]


class JourneyOptions(TypedDict, total=False):
    """How journeys are built (the keyword arguments of `touchpoints`, with its defaults)."""

    by: By
    stage: Stage
    include_activities: bool
    collapse: bool
    lookback_days: int | None


MARKETING, SDR, AE, OTHER_SALES = "marketing", "SDR", "AE", "other_sales"

#: Columns of the touchpoint table (one row per touchpoint of a journey).
TOUCHPOINT_COLUMNS = [
    "journey_id", "account_id", "opportunity_id", "step", "at", "key", "source",
    "converted", "value", "days_before", "lead_step", "opportunity_step",
]  # fmt: skip


def _team_label(team: ir.StringValue, sdr: list[str], ae: list[str]) -> ir.StringValue:
    """SDR / AE / other_sales for a rep team, per the definitions' [teams]."""
    branches = [(team.isin(names), ibis.literal(label)) for names, label in ((sdr, SDR), (ae, AE)) if names]
    return ibis.cases(*branches, else_=ibis.literal(OTHER_SALES)) if branches else ibis.literal(OTHER_SALES)


def touchpoint_events(ws: Workspace, by: By = "channel", include_activities: bool = True) -> ir.Table:
    """Every touch and activity with its account: account_id, at, key, source (marketing / SDR / AE / other_sales)."""
    if by not in ("channel", "campaign", "team"):
        raise ValueError(f"by must be channel, campaign or team, got {by!r}")
    con = ws.con
    mapping = ws.definitions.channels.map
    touches = warehouse.touches_with_account(con).filter(_.account_id.notnull())
    excluded = list(ws.definitions.attribution.excluded_touch_kinds)
    if excluded:
        touches = touches.filter(touches.kind.isnull() | ~touches.kind.isin(excluded))
    channel = touches.channel.substitute(mapping) if mapping else touches.channel
    if by == "channel":
        key = channel
    elif by == "campaign":
        key = touches.campaign_id.coalesce(channel)
    else:
        key = ibis.literal(MARKETING)
    events = touches.select(
        account_id=touches.account_id,
        at=touches.at.cast("timestamp"),
        key=key.cast("string"),
        source=ibis.literal(MARKETING),
    )
    if include_activities:
        teams = ws.definitions.teams
        acts = warehouse.activities_with_account(con).filter(_.account_id.notnull())
        reps = con.table("reps").select(r_rep_id=_.rep_id, r_team=_.team)
        acts = acts.left_join(reps, acts.rep_id == reps.r_rep_id)
        label = _team_label(acts.r_team, list(teams.sdr), list(teams.ae))
        events = events.union(
            acts.select(
                account_id=acts.account_id,
                at=acts.at.cast("timestamp"),
                key=label.cast("string"),
                source=label,
            )
        )
    return events


def journey_ends(ws: Workspace, stage: Stage = "revenue", events: ir.Table | None = None) -> ir.Table:
    """One row per journey: journey_id, account_id, opportunity_id, end_at, lead_at, converted, value."""
    if stage not in ("revenue", "pipeline"):
        raise ValueError(f"stage must be revenue or pipeline, got {stage!r}")
    con = ws.con
    opps = con.table("opportunities")
    leads = warehouse.leads_with_account(con)
    first_lead = leads.group_by("account_id").agg(a_lead_at=_.created_at.min())
    lead_of = leads.select(l_lead_id=_.lead_id, l_created=_.created_at)
    o = opps.left_join(lead_of, opps.lead_id == lead_of.l_lead_id)
    end_at = o.created_at if stage == "pipeline" else o.closed_at.coalesce(o.created_at)
    won = (
        o.is_won.fill_null(False) & o.is_closed.fill_null(True) if stage == "revenue" else ibis.literal(True)
    )
    with_opp = o.select(
        journey_id=o.opportunity_id.cast("string"),
        account_id=o.account_id,
        opportunity_id=o.opportunity_id.cast("string"),
        end_at=end_at.cast("timestamp"),
        o_lead_at=o.l_created.cast("timestamp"),
        converted=won,
        value=ibis.ifelse(won, o.amount.fill_null(0.0), 0.0).cast("float64"),
    )
    events = events if events is not None else touchpoint_events(ws, include_activities=False)
    last_event = events.group_by("account_id").agg(end_at=_.at.max())
    opp_accounts = opps.select(o_account_id=_.account_id)
    without = last_event.anti_join(opp_accounts, last_event.account_id == opp_accounts.o_account_id)
    without = without.select(
        journey_id=ibis.literal("account:") + without.account_id.cast("string"),
        account_id=without.account_id,
        opportunity_id=ibis.null("string"),
        end_at=without.end_at.cast("timestamp"),
        o_lead_at=ibis.null("timestamp"),
        converted=ibis.literal(False),
        value=ibis.literal(0.0),
    )
    ends = with_opp.union(without)
    ends = ends.left_join(first_lead, ends.account_id == first_lead.account_id)
    return ends.select(
        "journey_id", "opportunity_id", "end_at", "converted", "value",
        account_id=ends.account_id, lead_at=ends.o_lead_at.coalesce(ends.a_lead_at),
    )  # fmt: skip


def touchpoints(
    ws: Workspace,
    by: By = "channel",
    stage: Stage = "revenue",
    include_activities: bool = True,
    collapse: bool = False,
    lookback_days: int | None = None,
) -> ir.Table:
    """The touchpoint table (columns `TOUCHPOINT_COLUMNS`) as an Ibis expression.

    `collapse` merges repeated consecutive touchpoints with the same key. `days_before` is days
    before the journey's end; `lead_step` / `opportunity_step` are the steps of the last
    touchpoint at or before lead creation and opportunity creation (null when there is none).
    """
    lookback = lookback_days if lookback_days is not None else ws.definitions.attribution.lookback_days
    events = touchpoint_events(ws, by=by, include_activities=include_activities)
    ends = journey_ends(ws, stage=stage, events=events)
    opp_created = ws.con.table("opportunities").select(
        c_opp=_.opportunity_id.cast("string"), c_created=_.created_at
    )
    ends = ends.left_join(opp_created, ends.opportunity_id == opp_created.c_opp).drop("c_opp")
    j = events.join(ends, "account_id")
    j = j.filter((j.at <= j.end_at) & (j.at > j.end_at - ibis.interval(days=int(lookback))))
    order = ibis.window(group_by="journey_id", order_by=[_.at, _.key])
    if collapse:
        j = j.mutate(prev_key=_.key.lag().over(order)).filter(_.prev_key.isnull() | (_.key != _.prev_key))
        j = j.drop("prev_key")
    j = j.mutate(step=ibis.row_number().over(order))
    whole = ibis.window(group_by="journey_id")
    j = j.mutate(
        lead_step=ibis.ifelse(_.at <= _.lead_at, _.step, ibis.null("int64")).max().over(whole),
        opportunity_step=ibis.ifelse(_.at <= _.c_created, _.step, ibis.null("int64")).max().over(whole),
        days_before=(_.end_at.epoch_seconds() - _.at.epoch_seconds()).cast("float64") / 86400.0,
    )
    return j.select(*TOUCHPOINT_COLUMNS)


def path_table(touchpoint_table: ir.Table) -> ir.Table:
    """Aggregate touchpoints to a path table in the warehouse: path (" > "-joined), conversions, value, nulls."""
    per_journey = touchpoint_table.group_by(["journey_id", "converted", "value"]).agg(
        path=_.key.collect(order_by=_.step).join(" > ")
    )
    return (
        per_journey.group_by("path")
        .agg(
            conversions=_.converted.cast("int64").sum(),
            value=ibis.ifelse(_.converted, _.value, 0.0).sum(),
            nulls=(~_.converted).cast("int64").sum(),
        )
        .order_by("path")
    )


def paths(ws: Workspace, **options: Unpack[JourneyOptions]) -> pd.DataFrame:
    """The path table of the workspace as a DataFrame (aggregated in the warehouse)."""
    return path_table(touchpoints(ws, **options)).execute()


def journeys(ws: Workspace, **options: Unpack[JourneyOptions]) -> pd.DataFrame:
    """The touchpoint table as a DataFrame (for models that need times or milestones)."""
    return touchpoints(ws, **options).order_by(["journey_id", "step"]).execute()
