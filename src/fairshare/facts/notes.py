"""Note facts: one row per activity note written on an opportunity, with its deal's dates and outcome."""

from __future__ import annotations

import ibis.expr.types as ir
from ibis import _


def note_expr(table, opportunities: ir.Table) -> ir.Table:
    """Activities with a non-empty note and an opportunity, joined to the opportunity facts:
    activity_id, at, rep_id, kind, note, opportunity_id, created_at, closed_at, is_closed, is_won,
    owner_rep_id, amount, size_band, region, industry, source_team, lead_id."""
    acts = table("activities").filter(
        _.opportunity_id.notnull() & _.notes.notnull() & (_.notes.strip() != "")
    )
    opps = opportunities.select(
        o_id=_.opportunity_id, created_at=_.created_at, closed_at=_.closed_at, is_closed=_.is_closed,
        is_won=_.is_won, owner_rep_id=_.owner_rep_id, amount=_.amount, size_band=_.size_band, region=_.region,
        industry=_.industry, source_team=_.source_team, o_lead_id=_.lead_id,
    )  # fmt: skip
    j = acts.inner_join(opps, acts.opportunity_id == opps.o_id)
    return j.select(
        "activity_id", "at", "rep_id", "kind", "opportunity_id", "created_at", "closed_at", "is_closed", "is_won",
        "owner_rep_id", "amount", "size_band", "region", "industry", "source_team",
        note=_.notes, lead_id=_.o_lead_id,
    )  # fmt: skip
