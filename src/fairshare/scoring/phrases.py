"""Plain words for a lead feature and the lead's value of it: the wording of the lead model's reasons."""

from __future__ import annotations

import numpy as np

#: Plain-word templates for the warehouse features ({v}: the lead's value).
PHRASES = {
    "source_channel": "came in through {v}",
    "source_team": "sourced by {v}",
    "campaign_channel": "from a {v} campaign",
    "industry": "industry is {v}",
    "region": "region is {v}",
    "persona": "contact persona is {v}",
    "title": "contact title is {v}",
    "log_employees": "company size ≈ {e:,.0f} employees",
    "log_annual_revenue": "annual revenue ≈ {e:,.0f}",
    "touches": "{v:.0f} marketing touches before scoring",
    "touches_7d": "{v:.0f} marketing touches in the last 7 days",
    "touches_30d": "{v:.0f} marketing touches in the last 30 days",
    "touch_cost": "marketing cost so far {v:,.0f}",
    "days_since_last_touch": "last touch {v:.0f} days before",
    "days_since_first_touch": "first touch {v:.0f} days before",
    "touch_channels": "reached through {v:.0f} channels",
    "contacts_touched": "{v:.0f} people at the account engaged",
    "touches_on_lead_contact": "{v:.0f} touches on the lead's own contact",
    "account_contacts": "{v:.0f} known contacts at the account",
    "rep_activities": "{v:.0f} rep activities on the account before scoring",
    "rep_calls": "{v:.0f} rep calls before scoring",
    "rep_meetings": "{v:.0f} meetings before scoring",
    "hours_to_first_response": "first response after {v:.1f} hours",
    "lead_attempts": "{v:.0f} contact attempts on the lead",
    "lead_connects": "reached the lead {v:.0f} times",
    "first_rep": "worked first by {v}",
    "leads_last_7d": "{v:.0f} other leads arrived in the week before",
    "prior_leads": "{v:.0f} earlier leads from the account",
    "prior_opportunities": "{v:.0f} earlier opportunities at the account",
    "prior_won_deals": "{v:.0f} earlier won deals at the account",
    "prior_won_amount": "earlier bookings of {v:,.0f}",
    "account_age_days": "account known for {v:.0f} days",
}


def phrase(feature: str, value: object) -> str:
    """A feature and the lead's value of it, in plain words."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        label = feature.replace("_", " ")
        return f"{label} unknown"
    if feature.startswith("touches_kind_"):
        return f"{float(value):.0f} {feature.removeprefix('touches_kind_').replace('_', ' ')} touches"
    if feature.startswith("stage_"):
        stage = feature.removeprefix("stage_").replace("_", " ")
        return f"reached {stage} by scoring time" if float(value) > 0 else f"not yet {stage} by scoring time"
    if feature.startswith("touches_channel_"):
        return f"{float(value):.0f} touches from {feature.removeprefix('touches_channel_').replace('_', ' ')}"
    template = PHRASES.get(feature)
    if template is None:
        return f"{feature.replace('_', ' ')} = {value if isinstance(value, str) else f'{float(value):.3g}'}"
    if isinstance(value, str):
        return template.format(v=value, e=0.0) if "{e" not in template else f"{feature} = {value}"
    v = float(value)
    return template.format(v=v, e=float(np.expm1(min(v, 700.0))) if "{e" in template else 0.0)
