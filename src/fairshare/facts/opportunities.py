"""Opportunity facts: one row per opportunity, with its outcome resolved and its dimensions.

Won/closed come from the opportunity's columns, else from the lifecycle; the dimensions (channel,
campaign, source team, segment, rep) come from its lead, campaign and account.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir
from ibis import _

from fairshare.config import Definitions

TableOf = Callable[[str], ir.Table]


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


def account_dimensions(table: TableOf, definitions: Definitions) -> ir.Table:
    """Per account: a_id, industry, region, size_band."""
    acc = table("accounts")
    return acc.select(
        a_id=_.account_id,
        industry=_.industry,
        region=_.region,
        size_band=size_band(acc.employees, definitions.funnel.size_bands),
    )


def opportunity_expr(table: TableOf, definitions: Definitions) -> ir.Table:
    """One row per opportunity: won/closed resolved from columns or lifecycle, current stage,
    last activity, and the dimensions of its lead and account (`table` looks up canonical tables)."""
    f = definitions.funnel
    opps = table("opportunities")
    lc = table("lifecycle").filter(_.entity == "opportunity")
    olc = lc.group_by(lc_id=_.entity_id).agg(
        lc_won_at=_.at.min(where=_.stage == f.won_stage),
        lc_lost_at=_.at.min(where=_.stage == f.lost_stage),
        lc_stage=_.stage.argmax(_.at),
    )
    last = (
        table("activities")
        .filter(_.opportunity_id.notnull())
        .group_by(la_id=_.opportunity_id)
        .agg(last_activity_at=_.at.max(), sales_seconds=_.duration_s.sum())
    )
    leads = table("leads").select(
        l_id=_.lead_id, l_channel=_.source_channel, l_campaign=_.campaign_id, l_team=_.source_team
    )
    camps = table("campaigns").select(c_id=_.campaign_id, c_channel=_.channel)
    j = opps.left_join(olc, opps.opportunity_id == olc.lc_id)
    j = j.left_join(last, j.opportunity_id == last.la_id)
    j = j.left_join(leads, j.lead_id == leads.l_id)
    j = j.left_join(camps, j.l_campaign == camps.c_id)
    acc = account_dimensions(table, definitions)
    j = j.left_join(acc, j.account_id == acc.a_id)
    is_won = ibis.coalesce(j.is_won, j.stage == f.won_stage, j.lc_won_at.notnull())
    closed_at = ibis.coalesce(
        j.closed_at, ibis.ifelse(is_won, j.lc_won_at, ibis.coalesce(j.lc_lost_at, j.lc_won_at))
    )
    lost_stage = ibis.coalesce(j.stage == f.lost_stage, j.lc_lost_at.notnull())
    is_closed = ibis.coalesce(j.is_closed, closed_at.notnull() | is_won | lost_stage)
    return j.select(
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
