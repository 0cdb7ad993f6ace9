"""Response schemas of the REST API (the documented result columns; extra columns pass through)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Row = dict[str, Any]


class _Row(BaseModel):
    """A result row: the documented columns typed, any additional column kept as is."""

    model_config = ConfigDict(extra="allow")


#: `fairshare.attribution.MODEL_NAMES` (a test keeps them equal; not imported, to keep start-up light).
ATTRIBUTION_MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "u_shaped", "w_shaped",
                      "full_path", "time_decay", "markov", "shapley")  # fmt: skip

AttributionModelName = StrEnum(
    "AttributionModelName",
    {n: n for n in (*ATTRIBUTION_MODELS, *(f"markov_{k}" for k in range(1, 5)))},
)
AttributionModelName.__doc__ = "Attribution models (rules, Markov of order k, Shapley)."


class AttributionBy(StrEnum):
    """What attribution credit is split across."""

    channel = "channel"
    campaign = "campaign"
    source_team = "source_team"
    team = "team"
    rep = "rep"
    segment = "segment"


class LeadSort(StrEnum):
    """Lead queue orders (all descending)."""

    value = "value"
    value_per_hour = "value_per_hour"
    p_win = "p_win"


class RunLogRow(_Row):
    area: str
    status: str = Field(description="ok, missing or failed")
    tables: str | None = None
    rows: int | None = None
    seconds: float | None = None
    message: str | None = None


class Run(BaseModel):
    run_id: int
    at: str = Field(description="UTC time the run stored its results (ISO-8601)")
    definitions_hash: str = Field(description="SHA-256 of fairshare.toml used by the run")
    seconds: float | None = None
    tables: dict[str, int] = Field(description="result table -> rows")


class Status(BaseModel):
    workspace: str
    currency: str
    run: Run | None = Field(description="the last run, null before `fairshare run`")
    inputs: dict[str, int] = Field(default_factory=dict, description="canonical table -> rows at run time")
    log: list[RunLogRow] = Field(default_factory=list, description="per model area: ok, missing or failed")


class Kpi(_Row):
    kpi: str
    label: str | None = None
    value: float | None = None
    unit: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    period: str | None = None
    previous_value: float | None = None
    change: float | None = None
    definition: str | None = None
    source: str | None = None


class Scorecard(BaseModel):
    run_id: int
    at: str
    currency: str
    kpis: list[Kpi]


class Funnel(BaseModel):
    funnel: list[Row] = Field(description="stage conversion and velocity")
    funnel_breakdown: list[Row] = Field(
        description="conversion by channel, campaign, source team, segment, rep"
    )
    sla: list[Row] = Field(description="SLA compliance per rule")
    speed_to_lead: list[Row] = Field(description="time to first sales activity, never-contacted share")
    sla_breaches_total: int
    sla_breaches: list[Row] = Field(description="breaching leads/opportunities (first `limit`)")
    stuck_pipeline_total: int
    stuck_pipeline: list[Row] = Field(description="stuck open opportunities (first `limit`)")


class AttributionRow(_Row):
    model: str
    by: str | None = None
    key: str
    conversions: float | None = None
    revenue: float | None = None
    share: float | None = Field(None, description="share of conversions credited (0..1)")
    ci_low: float | None = None
    ci_high: float | None = None


class Attribution(BaseModel):
    models: list[str] = Field(description="models present in the run")
    by: list[str] = Field(description="groupings present in the run")
    rows: list[AttributionRow]
    sourced: list[Row] = Field(description="marketing-sourced vs influenced")


class ContributionStrategy(BaseModel):
    """One way of estimating a unit: its own estimate and interval, whether it identifies the unit, and why."""

    name: str
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    identified: bool = False
    reason: str = ""


class ContributionRow(_Row):
    unit: str
    key: str
    estimate: float | None = Field(None, description="incremental revenue (currency)")
    ci_low: float | None = None
    ci_high: float | None = None
    level: float | None = None
    method: str | None = None
    n_units: int | None = None
    n_exposed: int | None = None
    assumptions: str | None = None
    sensitivity: str | None = None
    overlap_warning: str | bool | None = None
    identified: bool | None = Field(
        None, description="false: not identified from this data, or an assumption"
    )
    strategies: list[ContributionStrategy] = []
    period: str | None = Field(
        None, description="what the number covers, e.g. all history 2025-01-01..2025-12-31"
    )
    proposal: str | None = Field(None, description="the holdout experiment that would identify the unit")
    warnings: str | None = None


class Contribution(BaseModel):
    rows: list[ContributionRow]
    reconciliation: list[Row]
    experiment: list[Row]


class LeadRow(_Row):
    lead_id: str
    account_id: str | None = None
    p_opportunity: float | None = None
    p_win: float | None = None
    expected_amount: float | None = None
    value: float | None = Field(None, description="P(win) x E[amount | win]")
    value_low: float | None = None
    value_high: float | None = None
    effort_hours: float | None = None
    value_per_hour: float | None = None
    model: str | None = None


class LeadPage(BaseModel):
    total: int
    limit: int
    offset: int
    sort: LeadSort
    items: list[LeadRow]


class LeadDetail(LeadRow):
    reasons: list[Any] = Field(default_factory=list, description="top reasons, plain words")


class RepRow(_Row):
    rep_id: str
    team: str | None = None
    leads: float | None = None
    wins: float | None = None
    expected_wins: float | None = None
    ability: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


class Reps(BaseModel):
    rows: list[RepRow]


class NoteThemeRow(_Row):
    theme: str
    top_terms: str | None = None
    n_notes: int | None = None
    n_deals: int | None = None
    win_rate: float | None = None
    lift: float | None = Field(None, description="win rate of closed deals with the theme / without it")
    ci_low: float | None = None
    ci_high: float | None = None
    examples: str | None = Field(
        None, description="example notes ('|'-separated); empty when [notes] examples = false"
    )


class Notes(BaseModel):
    themes: list[NoteThemeRow]
    signals: list[dict[str, Any]]
    rep_factors: list[dict[str, Any]]


class QueueRow(_Row):
    rep_id: str
    lead_id: str | None = None
    account_id: str | None = None
    rank: int
    p_win: float | None = None
    value: float | None = Field(None, description="P(win) x E[amount | win]")
    effort_hours: float | None = Field(None, description="expected rep hours of work on the lead")
    value_per_hour: float | None = Field(None, description="value / effort_hours: the queue's order")
    sla_due_at: str | None = Field(None, description="first-contact SLA due time; null once contacted")
    urgent: bool | None = None
    fits_capacity: bool | None = None


class Queue(BaseModel):
    rows: list[QueueRow]


class Economics(BaseModel):
    economics: list[Row]
    prospecting: list[Row]


class ForecastRow(_Row):
    rep_id: str
    period: str | None = None
    booked_to_date: float | None = None
    p10: float | None = None
    p50: float | None = None
    p90: float | None = None
    mean: float | None = None
    commit: float | None = None
    commit_gap: float | None = None
    commit_percentile: float | None = None


class Forecast(BaseModel):
    rows: list[ForecastRow]


class ValidationRow(_Row):
    model: str
    check: str
    metric: str
    value: float | None = None
    reference: float | None = None
    passed: bool | None = None
    source: str | None = None


class Validation(BaseModel):
    rows: list[ValidationRow]
