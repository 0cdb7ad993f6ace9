"""Point-in-time exposures, confounders and outcomes from the warehouse (Ibis), one row per unit.

Accounts: firmographics (known before any exposure), marketing touches per channel in the
analysis window, won revenue. Leads: account firmographics, engagement before the lead was
created (point in time), how fast and by whom it was first contacted, the queue load on the day
it arrived (the capacity that decides who gets contacted late or never), and won revenue.
Set-based work (counts, minima, sums) runs in the warehouse; only the per-unit tables are pulled.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import ibis
import numpy as np
import pandas as pd
from ibis import _

from fairshare import warehouse

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from fairshare.workspace import Workspace

#: Touch kind that records a conversion (a form fill creates the lead): excluded from exposures.
CONVERSION_KIND = "form"


def channel_column(channel: str) -> str:
    """Column name holding an account's touches of `channel` (e.g. touches__paid_search)."""
    return "touches__" + re.sub(r"[^0-9a-zA-Z_]+", "_", channel)


def _won_by(opps, key: str):
    won = opps.filter(_.is_won.fill_null(False))
    return won.group_by(key).agg(won_revenue=_.amount.sum(), won_deals=_.count())


def sdr_outbound_activities(ws: Workspace) -> tuple[ibis.Table, ibis.Table]:
    """(SDR outbound prospecting activities, all SDR activities), each with its account (Ibis expressions).

    Outbound prospecting: a `prospecting` method, or an outbound activity on no lead and no opportunity.
    """
    acts = warehouse.activities_with_account(ws.con).filter(_.account_id.notnull())
    reps = ws.table("reps").select(r_id=_.rep_id, team=_.team)
    sdr_acts = acts.join(reps, acts.rep_id == reps.r_id).filter(_.team.isin(ws.definitions.teams.sdr))
    outbound = sdr_acts.filter(
        _.prospecting.notnull()
        | ((_.direction == "outbound") & _.lead_id.isnull() & _.opportunity_id.isnull())
    )
    return outbound, sdr_acts


#: Columns of the exposure tables besides the per-channel counts (account) and the fetched parts
#: (lead): what `_bound` adds to the count of columns it can read from the expressions.
ACCOUNT_COLUMNS = 15
LEAD_DERIVED = 14


def _bound(ws: Workspace, what: str, rows: ir.Table, columns: int) -> None:
    """The memory bound (`[workspace] max_feature_cells`), checked in the engine before the transfer."""
    limit = ws.definitions.workspace.max_feature_cells
    warehouse.check_feature_cells(what, int(rows.count().execute()), columns, limit)


def account_exposures(ws: Workspace) -> pd.DataFrame:
    """One row per account: confounders, touches per channel (paid/owned and pull), SDR prospecting, won revenue.

    `won_revenue_marketing_sourced` is the part of won revenue from deals whose lead marketing sourced.

    Pull channels are the definitions' `attribution.direct_channels` (organic, direct): visits the
    account initiates, counted but not treated as an exposure marketing assigns. Form fills are
    left out: they are the conversion itself, so counting them would credit marketing with its outcome.
    """
    con = ws.con
    accounts = ws.table("accounts")
    # form fills are the lead's own creation (an outcome), not an exposure marketing assigned
    touches = warehouse.touches_with_account(con).filter(
        _.account_id.notnull() & (_.kind.isnull() | (_.kind != CONVERSION_KIND))
    )
    mapping = ws.definitions.channels.map
    if mapping:  # raw source labels → canonical channels, as the journeys read them
        touches = touches.mutate(channel=touches.channel.substitute(mapping))
    opps = ws.table("opportunities")
    pull = set(ws.definitions.attribution.direct_channels)
    start = touches.at.min().execute()
    opp_start = opps.created_at.min().execute()
    starts = [t for t in (start, opp_start) if t is not None and not pd.isna(t)]
    window_start = min(starts) if starts else pd.Timestamp("1970-01-01")
    n_channels = int(touches.channel.nunique().execute())
    _bound(ws, "account exposures", accounts, ACCOUNT_COLUMNS + n_channels)
    counts = touches.group_by(["account_id", "channel"]).agg(n=_.count()).execute()
    wide = counts.pivot_table(index="account_id", columns="channel", values="n", aggfunc="sum", fill_value=0)
    won = _won_by(opps, "account_id").execute()
    # won revenue of deals from marketing-sourced leads (the lead's source team, else the opportunity's)
    lead_team = ws.table("leads").select(s_lead=_.lead_id, s_team=_.source_team)
    sourced = opps.left_join(lead_team, opps.lead_id == lead_team.s_lead)
    sourced = sourced.filter(
        ibis.coalesce(sourced.s_team, sourced.source_team).isin(
            list(ws.definitions.teams.marketing_source_teams)
        )
        & sourced.is_won.fill_null(False)
    )
    marketing_won = sourced.group_by("account_id").agg(won_revenue_marketing_sourced=_.amount.sum()).execute()
    outbound, _sdr = sdr_outbound_activities(ws)
    prospecting = outbound.group_by("account_id").agg(sdr_prospecting=_.count()).execute()
    frame = accounts.select(
        "account_id", "industry", "region", "employees", "annual_revenue", "created_at"
    ).execute()
    frame = frame.merge(won, on="account_id", how="left").merge(prospecting, on="account_id", how="left")
    frame = frame.merge(marketing_won, on="account_id", how="left")
    frame["won_revenue_marketing_sourced"] = frame["won_revenue_marketing_sourced"].fillna(0.0).astype(float)
    frame["sdr_prospecting"] = frame["sdr_prospecting"].fillna(0).astype(int)
    frame["won_revenue"] = frame["won_revenue"].fillna(0.0).astype(float)
    frame["won_deals"] = frame["won_deals"].fillna(0).astype(int)
    frame["log_employees"] = np.log1p(frame["employees"].astype(float))
    frame["log_annual_revenue"] = np.log1p(frame["annual_revenue"].astype(float))
    created = pd.to_datetime(frame["created_at"])
    frame["account_age_days"] = (pd.Timestamp(window_start) - created).dt.total_seconds() / 86400.0
    channels = sorted(wide.columns)
    wide = wide.reindex(frame["account_id"]).fillna(0).astype(int).reset_index(drop=True)
    for c in channels:
        frame[channel_column(c)] = wide[c].to_numpy()
    paid = [c for c in channels if c not in pull]
    frame["touches_paid"] = wide[paid].sum(axis=1).to_numpy() if paid else 0
    frame["touches_pull"] = (
        wide[[c for c in channels if c in pull]].sum(axis=1).to_numpy() if pull & set(channels) else 0
    )
    frame.attrs["channels"] = channels
    frame.attrs["paid_channels"] = paid
    frame.attrs["touches_imported"] = int(ws.table("touches").count().execute())  # says why none count
    frame.attrs["touches_on_accounts"] = int(counts["n"].sum()) if len(counts) else 0
    frame.attrs["window_start"] = window_start
    return frame


def lead_exposures(ws: Workspace) -> pd.DataFrame:
    """One row per lead: confounders known when it arrived, first contact (who, how fast), won revenue.

    `queued` marks the leads that wait in the sales queue (MQLs and partner leads), `first_rep_id` the
    SDR who first worked the lead.

    `prior_touches` counts the account's touches before the lead was created; `queue_leads` counts
    the leads created the same day (the load that decides who is contacted late or never).
    """
    con = ws.con
    teams = ws.definitions.teams
    leads = warehouse.leads_with_account(con)
    lt = leads.select(l_id=_.lead_id, l_account=_.account_id, l_created=_.created_at)
    acts = ws.table("activities").filter(_.lead_id.notnull())
    reps = ws.table("reps").select(r_id=_.rep_id, team=_.team)
    a = acts.join(reps, acts.rep_id == reps.r_id)
    la = a.join(lt, a.lead_id == lt.l_id).filter(_.at >= _.l_created)
    first_any = la.group_by("lead_id").agg(first_contact_at=_.at.min(), activities=_.count())
    first_sdr = (
        la.filter(_.team.isin(teams.sdr))
        .group_by("lead_id")
        .agg(first_sdr_at=_.at.min(), sdr_activities=_.count(), first_rep_id=_.rep_id.argmin(_.at))
    )
    mql_stage = ws.definitions.funnel.mql_stage
    mql = (
        ws.table("lifecycle")
        .filter((_.entity == "lead") & (_.stage == mql_stage))
        .group_by(lead_id=_.entity_id)
        .agg(mql_at=_.at.min())
    )
    touches = warehouse.touches_with_account(con).filter(_.account_id.notnull())
    tt = touches.select(t_account=_.account_id, t_at=_.at)
    prior = (
        lt.join(tt, (lt.l_account == tt.t_account) & (tt.t_at < lt.l_created))
        .group_by("l_id")
        .agg(prior_touches=_.count())
        .rename(lead_id="l_id")
    )
    queue = leads.group_by(day=_.created_at.truncate("D")).agg(queue_leads=_.count())
    won = _won_by(ws.table("opportunities").filter(_.lead_id.notnull()), "lead_id")
    parts = (first_any, first_sdr, prior, won, mql)
    _bound(
        ws,
        "lead exposures",
        leads,
        len(leads.columns) + sum(len(p.columns) - 1 for p in parts) + LEAD_DERIVED,
    )
    frame = leads.mutate(day=_.created_at.truncate("D")).execute()
    for part in parts:
        frame = frame.merge(part.execute(), on="lead_id", how="left")
    frame = frame.merge(queue.execute(), on="day", how="left")
    acc = (
        ws.table("accounts")
        .select("account_id", "industry", "region", "employees", "annual_revenue")
        .execute()
    )
    frame = frame.merge(acc, on="account_id", how="left")
    frame["won_revenue"] = frame["won_revenue"].fillna(0.0).astype(float)
    frame["prior_touches"] = frame["prior_touches"].fillna(0).astype(int)
    frame["activities"] = frame["activities"].fillna(0).astype(int)
    frame["sdr_activities"] = frame["sdr_activities"].fillna(0).astype(int)
    frame["queue_leads"] = frame["queue_leads"].fillna(1).astype(int)
    created = pd.to_datetime(frame["created_at"])
    frame["contacted"] = frame["first_contact_at"].notna()
    # queued for sales: marketing leads once they reach the MQL stage (nurture leads are never worked),
    # leads of other non-SDR sources (partner) at once; without MQL rows every marketing lead counts
    marketing = frame["source_team"].isin(teams.marketing_source_teams)
    reached = frame["mql_at"].notna() if frame["mql_at"].notna().any() else pd.Series(True, index=frame.index)
    frame["queued"] = (marketing & reached) | (~marketing & ~frame["source_team"].isin(["sdr", "ae"]))
    frame["sdr_contacted"] = frame["first_sdr_at"].notna()
    frame["hours_to_first_contact"] = (
        pd.to_datetime(frame["first_contact_at"]) - created
    ).dt.total_seconds() / 3600
    frame["log_employees"] = np.log1p(frame["employees"].astype(float))
    frame["log_annual_revenue"] = np.log1p(frame["annual_revenue"].astype(float))
    frame["created_hour"] = created.dt.hour
    frame["created_weekday"] = created.dt.day_of_week
    frame["created_day_index"] = (created - created.min()).dt.days if len(created) else 0
    return frame.drop(columns=["day"]).sort_values("lead_id").reset_index(drop=True)
