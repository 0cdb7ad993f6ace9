"""Lead facts: one row per lead, with the time it reached each funnel stage and its dimensions.

Stage times are at_0 … at_{k} in funnel order (the lead stages of `[funnel]`, then opportunity,
then won); reached_k says the lead reached stage k or any later one (leads may skip stages).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _

from fairshare import warehouse
from fairshare.config import Definitions
from fairshare.facts.opportunities import TableOf, account_dimensions


def lead_stage_names(definitions: Definitions) -> list[str]:
    """The lead stages of the funnel, in order."""
    return list(definitions.funnel.lead_stages)


def stage_names(definitions: Definitions) -> list[str]:
    """The funnel order: lead stages, then opportunity, then the won stage."""
    return [*lead_stage_names(definitions), "opportunity", definitions.funnel.won_stage]


def first_contacts(table: TableOf) -> ir.Table:
    """Per lead: the first sales activity at or after creation (on the lead, or on its contact when
    the activity names no lead and is not prospecting): first_contact_at, first_contact_rep_id.

    Prospecting activities (cold calls, referrals, events) that name no lead are outreach for new
    leads, not work on this one, so they do not count as its first contact."""
    leads = table("leads").select("lead_id", "contact_id", "created_at")
    acts = table("activities")
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


def lead_expr(
    table: TableOf, con: ibis.BaseBackend, definitions: Definitions, opportunity_facts: ir.Table
) -> ir.Table:
    """One row per lead: stage times (at_0 … at_{k} for the funnel stages), MQL decision, first
    contact, first opportunity and win, and the lead's dimensions."""
    f = definitions.funnel
    stages = lead_stage_names(definitions)
    lc = table("lifecycle").filter(_.entity == "lead")
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
    leads = warehouse.leads_with_account(con)
    camps = table("campaigns").select(c_id=_.campaign_id, c_channel=_.channel)
    j = leads.left_join(pivot, leads.lead_id == pivot.p_id)
    fc = first_contacts(table)
    j = j.left_join(fc, j.lead_id == fc.fc_lead)
    j = j.left_join(opps, j.lead_id == opps.o_lead)
    j = j.left_join(camps, j.campaign_id == camps.c_id)
    acc = account_dimensions(table, definitions)
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
    last = len(stage_names(definitions)) - 1
    reached = {}
    for k in range(last, -1, -1):
        here = out[f"at_{k}"].notnull()
        reached[f"reached_{k}"] = here if k == last else here | reached[f"reached_{k + 1}"]
    return out.mutate(**reached)
