"""Sourced vs influenced, per opportunity and in total, for marketing, SDR and AE.

- Sourced: with `sourced_by = "source_team"` (default) the opportunity's source_team (or its
  lead's) decides: a team in `[teams] marketing_source_teams` is marketing, "sdr" is SDR, "ae"
  is AE. With `sourced_by = "first_touch"` the first touchpoint in the lookback window before the
  opportunity's creation decides (a marketing touch, an SDR or an AE activity).
- Influenced: any marketing touch (SDR / AE activity) on the account or any of its contacts in
  the lookback window before the opportunity's creation.

Revenue is the amount of won opportunities; pipeline the amount of all opportunities opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis import _

from fairshare import journeys, warehouse

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

TEAMS = (journeys.MARKETING, journeys.SDR, journeys.AE)

#: Columns of `sourced_totals` (one row per team).
TOTAL_COLUMNS = [
    "team", "sourced_opportunities", "sourced_pipeline", "sourced_revenue",
    "influenced_opportunities", "influenced_pipeline", "influenced_revenue",
    "sourced_revenue_share", "influenced_revenue_share",
]  # fmt: skip


def opportunity_flags(ws: Workspace) -> ir.Table:
    """Per opportunity: amount, won, source (marketing / SDR / AE / other) and influenced_by_<team> flags."""
    con = ws.con
    settings = ws.definitions.attribution
    teams = ws.definitions.teams
    opps = con.table("opportunities")
    leads = warehouse.leads_with_account(con).select(l_lead_id=_.lead_id, l_source_team=_.source_team)
    o = opps.left_join(leads, opps.lead_id == leads.l_lead_id)
    o = o.select(
        "opportunity_id", "account_id", "created_at",
        amount=o.amount.fill_null(0.0).cast("float64"),
        won=(o.is_won.fill_null(False) & o.is_closed.fill_null(True)),
        source_team=o.source_team.coalesce(o.l_source_team),
    )  # fmt: skip
    events = journeys.touchpoint_events(ws, by="team", include_activities=True)
    lookback = ibis.interval(days=int(settings.lookback_days))
    opp_times = o.select(e_opp=_.opportunity_id, e_account=_.account_id, e_created=_.created_at)
    e = events.join(opp_times, events.account_id == opp_times.e_account)
    e = e.filter((e.at <= e.e_created) & (e.at > e.e_created - lookback))
    per_opp = e.group_by(opportunity_id=e.e_opp).agg(
        first_source=e.source.argmin(e.at),
        **{f"influenced_by_{t.lower()}": (e.source == t).any() for t in TEAMS},
    )
    o = o.left_join(per_opp, o.opportunity_id == per_opp.opportunity_id).drop("opportunity_id_right")
    if settings.sourced_by == "first_touch":
        source = o.first_source.fill_null("other")
    else:
        st = o.source_team.lower()
        source = ibis.cases(
            (st.isin([s.lower() for s in teams.marketing_source_teams]), ibis.literal(journeys.MARKETING)),
            (st == "sdr", ibis.literal(journeys.SDR)),
            (st == "ae", ibis.literal(journeys.AE)),
            else_=ibis.literal("other"),
        )
    return o.select(
        "opportunity_id", "account_id", "created_at", "amount", "won",
        source=source,
        **{f"influenced_by_{t.lower()}": o[f"influenced_by_{t.lower()}"].fill_null(False) for t in TEAMS},
    )  # fmt: skip


def sourced_totals(ws: Workspace) -> pd.DataFrame:
    """Sourced and influenced opportunities, pipeline and revenue per team (columns `TOTAL_COLUMNS`)."""
    flags = opportunity_flags(ws)
    won_amount = ibis.ifelse(flags.won, flags.amount, 0.0)
    aggs = {"all_revenue": won_amount.sum()}
    for t in TEAMS:
        src = flags.source == t
        inf = flags[f"influenced_by_{t.lower()}"]
        aggs |= {
            f"{t}|sourced_opportunities": src.cast("int64").sum(),
            f"{t}|sourced_pipeline": ibis.ifelse(src, flags.amount, 0.0).sum(),
            f"{t}|sourced_revenue": ibis.ifelse(src, won_amount, 0.0).sum(),
            f"{t}|influenced_opportunities": inf.cast("int64").sum(),
            f"{t}|influenced_pipeline": ibis.ifelse(inf, flags.amount, 0.0).sum(),
            f"{t}|influenced_revenue": ibis.ifelse(inf, won_amount, 0.0).sum(),
        }
    row = flags.aggregate(**aggs).execute().iloc[0]
    total = 0.0 if pd.isna(row["all_revenue"]) else float(row["all_revenue"])
    records = []
    for t in TEAMS:
        rec = {"team": t}
        for name in TOTAL_COLUMNS[1:7]:
            v = row[f"{t}|{name}"]
            rec[name] = float(0 if pd.isna(v) else v)
        rec["sourced_opportunities"] = int(rec["sourced_opportunities"])
        rec["influenced_opportunities"] = int(rec["influenced_opportunities"])
        rec["sourced_revenue_share"] = rec["sourced_revenue"] / total if total else 0.0
        rec["influenced_revenue_share"] = rec["influenced_revenue"] / total if total else 0.0
        records.append(rec)
    return pd.DataFrame(records, columns=TOTAL_COLUMNS)
