"""The simulator's parameters: one pydantic model, every rate documented with its default.

Counts (touch volumes, budgets, partner leads, number of reps) are given for a company of
`REFERENCE_ACCOUNTS` accounts and scale linearly with `accounts`, so a small test world looks
like a thin slice of the default one.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Budgets, touch volumes, partner leads and rep head counts are quoted for this many accounts.
REFERENCE_ACCOUNTS = 3000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelSpec(_Model):
    """A paid or owned marketing channel whose touch volume follows its spend (targeted 'push')."""

    daily_budget: float = Field(gt=0, description="average spend per day across the channel's campaigns")
    touches_per_day: float = Field(gt=0, description="touches per day when spending exactly daily_budget")
    spend_elasticity: float = Field(
        0.6, gt=0, le=1, description="touches ∝ spend^elasticity (diminishing returns when < 1)"
    )
    effect: float = Field(gt=0, description="hidden interest added per touch (before the log saturation)")
    kinds: dict[str, float] = Field(description="touch kind → share of the channel's touches")
    campaigns: int = Field(3, ge=1, description="campaigns over the simulated period (one is always on)")
    contact_share: float = Field(
        0.8, ge=0, le=1, description="share of touches tied to a known contact (others: account only)"
    )
    fit_targeting: float = Field(
        1.0, ge=0, description="how strongly the channel targets accounts with a good observed fit"
    )


class BudgetFlights(_Model):
    """Spend that changes for reasons other than an account's demand: dark weeks, budget steps, regions.

    Off (`enabled=False`) by default, which keeps the default company's spend plan unchanged.
    """

    enabled: bool = Field(False, description="turn budget flights on")
    off_week_share: float = Field(
        0.15, ge=0, lt=1, description="share of weeks in which a channel goes dark (spends nothing)"
    )
    steps: int = Field(
        3, ge=0, description="budget level changes per channel over the period (at random weeks)"
    )
    step_sd: float = Field(0.4, ge=0, description="sd of the log budget level after each step")
    regional: bool = Field(
        True, description="split every channel's spend over regions with multipliers that change over time "
        "(campaigns become regional: `spend` and `campaigns` get a `region` column)"
    )  # fmt: skip
    region_sd: float = Field(
        0.5, ge=0, description="sd of the log regional multiplier of a channel in a block"
    )
    region_block_weeks: int = Field(8, ge=1, description="weeks during which a regional multiplier holds")


class CapacityChanges(_Model):
    """SDR head count that varies over time: hires during the period, leavers, weeks off."""

    enabled: bool = Field(False, description="turn SDR capacity changes on")
    hire_share: float = Field(
        0.25, ge=0, le=1, description="share of SDRs hired during the period (start work on a random day)"
    )
    leave_share: float = Field(
        0.2, ge=0, le=1, description="share of SDRs who leave during the period (stop on a random day)"
    )
    weeks_off: float = Field(3.0, ge=0, description="mean weeks off (holiday, sickness) per SDR per year")


class Holdouts(_Model):
    """Randomized account holdouts, assigned before the period and written to the `experiments` table."""

    marketing_share: float = Field(
        0.0, ge=0, lt=1, description="share of accounts that no targeted (paid/owned) channel may touch"
    )
    sdr_share: float = Field(0.0, ge=0, lt=1, description="share of accounts SDRs never prospect")


class Shock(_Model):
    """One shock: from `at` on, the mechanism changes by `size` (a share, or win-logits for ae_skill)."""

    at: dt.date | None = Field(None, description="first day of the shock (None: off)")
    size: float = Field(0.0, ge=0, description="size of the drop (share; win-logits for ae_skill)")


class Shocks(_Model):
    """The five shocks, all off by default (the default company is unchanged)."""

    lead_quality: Shock = Field(
        default_factory=Shock, description="share of inbound leads from poor-fit accounts"
    )
    sdr_capacity: Shock = Field(default_factory=Shock, description="share of SDR inbound capacity lost")
    ae_skill: Shock = Field(
        default_factory=Shock, description="win-logit drop of opportunities opened from `at`"
    )
    spend: Shock = Field(default_factory=Shock, description="share of every paid/owned channel's spend cut")
    deal_size: Shock = Field(
        default_factory=Shock, description="share by which new opportunities are smaller"
    )

    def active(self) -> dict[str, Shock]:
        """The shocks that are on, by name."""
        return {k: s for k, s in self if isinstance(s, Shock) and s.at is not None and s.size > 0}


class NoteSettings(_Model):
    """Deal notes with known themes and sentiment, and AE traits behind them (`simulate/notes.py`).

    Off by default, which keeps the default company byte-identical.
    """

    enabled: bool = Field(
        False, description="write deal notes (themes, objections, sentiment) and rep traits"
    )
    trait_sd: float = Field(1.0, ge=0, description="sd of diligence, product knowledge and responsiveness")
    objection_effect: float = Field(1.5, ge=0, description="win-logit cost of an objection left open")
    overcome_intercept: float = Field(0.0, description="logit of overcoming an objection (average rep)")
    overcome_knowledge: float = Field(1.2, ge=0, description="logit slope of overcoming on product knowledge")
    cadence_steps: int = Field(
        2, ge=0, description="follow-ups planned after each stage meeting, besides the recap"
    )
    cadence_intercept: float = Field(0.3, description="logit of doing one cadence step (average rep)")
    cadence_diligence: float = Field(
        1.3, ge=0, description="logit slope of doing a cadence step on diligence"
    )
    recap_hours: float = Field(
        20.0, gt=0, description="median hours from a meeting to its recap (average rep)"
    )
    recap_responsiveness: float = Field(0.7, ge=0, description="recap delay x exp(-this x responsiveness)")
    sentiment_drift: float = Field(
        0.8, ge=0, description="note sentiment shift toward the outcome by the close"
    )


def _default_channels() -> dict[str, ChannelSpec]:
    return {
        "paid_search": ChannelSpec(
            daily_budget=900, touches_per_day=45, effect=0.45, kinds={"click": 0.6, "visit": 0.4}, campaigns=4
        ),  # fmt: skip
        "paid_social": ChannelSpec(
            daily_budget=700,
            touches_per_day=90,
            effect=0.12,
            kinds={"impression": 0.5, "ad": 0.3, "click": 0.2},
            contact_share=0.5,
            fit_targeting=1.3,
        ),  # fmt: skip
        "content": ChannelSpec(
            daily_budget=250,
            touches_per_day=30,
            effect=0.3,
            kinds={"content": 1.0},
            campaigns=5,
            fit_targeting=0.6,
        ),  # fmt: skip
        "webinar": ChannelSpec(
            daily_budget=300, touches_per_day=8, effect=0.9, kinds={"webinar": 1.0}, campaigns=6
        ),  # fmt: skip
        "email": ChannelSpec(
            daily_budget=80,
            touches_per_day=70,
            effect=0.12,
            spend_elasticity=0.8,
            kinds={"email_open": 0.75, "email_click": 0.25},
            contact_share=1.0,
            fit_targeting=1.0,
        ),  # fmt: skip
        "events": ChannelSpec(
            daily_budget=600,
            touches_per_day=6,
            effect=1.2,
            kinds={"event": 1.0},
            campaigns=4,
            fit_targeting=1.5,
        ),  # fmt: skip
    }


class SimulationConfig(_Model):
    """Everything that shapes the simulated company. Rates are per account per day unless stated."""

    # --- size and time -------------------------------------------------------------------------
    accounts: int = Field(3000, ge=20, description="number of accounts (companies in the market)")
    days: int = Field(365, ge=30, description="length of the simulated period in days")
    start: dt.date = Field(dt.date(2025, 1, 1), description="first simulated day (UTC midnight)")
    contacts_min: int = Field(1, ge=1, description="smallest buying committee")
    contacts_max: int = Field(6, ge=1, description="largest buying committee")

    # --- accounts and hidden fit ---------------------------------------------------------------
    fit_noise: float = Field(0.6, ge=0, description="sd of the hidden part of fit (observed part has sd ≈ 1)")
    in_market_intercept: float = Field(
        -0.9, description="logit of entering a buying window during the period"
    )
    in_market_fit: float = Field(1.0, description="logit slope of entering a buying window on hidden fit")
    buying_window_days: float = Field(100, gt=0, description="mean length of a buying window")

    # --- marketing -----------------------------------------------------------------------------
    channels: dict[str, ChannelSpec] = Field(default_factory=_default_channels)
    pull_channels: dict[str, float] = Field(
        default_factory=lambda: {"organic": 0.010, "direct": 0.004},
        description="unpaid channels: daily visit probability of an in-market account (x (1 + interest))",
    )
    pull_effect: float = Field(0.2, ge=0, description="interest added by an organic/direct visit")
    targeting_confounding: float = Field(
        0.0, description="weight of the HIDDEN fit noise in marketing targeting (0 = targeting uses observed "
        "firmographics and independent noise only; > 0 makes exposure confounded, for stress tests)"
    )  # fmt: skip
    targeting_noise: float = Field(0.8, ge=0, description="sd of independent noise in targeting weights")
    interest_half_life_days: float = Field(21.0, gt=0, description="half-life of hidden interest")
    form_intercept: float = Field(-8.3, description="logit of a form fill on a day with zero interest")
    form_interest: float = Field(2.0, description="logit slope of a form fill on hidden interest")
    form_need: float = Field(1.6, description="logit shift of a form fill inside a buying window")
    form_lookback_days: int = Field(
        30, ge=1, description="a form fill needs a touch this recent (its source)"
    )
    lead_cooldown_days: int = Field(90, ge=1, description="an account raises at most one inbound lead per")
    mql_min_touches: int = Field(3, ge=1, description="touches in the lookback (incl. the form) to be an MQL")

    # --- partners --------------------------------------------------------------------------------
    partner_leads: float = Field(120, ge=0, description="partner-referred leads per period (reference size)")

    # --- reps ----------------------------------------------------------------------------------
    sdrs: int = Field(8, ge=1, description="SDRs at the reference size (at least 1)")
    aes: int = Field(10, ge=2, description="AEs at the reference size (at least 2)")
    sdr_hourly_cost: float = Field(
        45.0, ge=0, description="mean loaded hourly cost of an SDR (x lognormal(0, 0.12))"
    )
    ae_hourly_cost: float = Field(
        85.0, ge=0, description="mean loaded hourly cost of an AE (x lognormal(0, 0.12))"
    )
    sdr_skill_sd: float = Field(0.5, ge=0, description="sd of SDR skill (logit scale)")
    ae_skill_sd: float = Field(0.5, ge=0, description="sd of AE closing skill (logit scale)")
    sdr_leads_per_day: float = Field(
        0.7, gt=0, description="new inbound/partner leads an SDR can start working per business day"
    )
    ae_qualify_per_day: float = Field(
        0.25, gt=0, description="new inbound leads an AE can qualify per business day when there are no SDRs"
    )
    ae_new_opportunities_per_day: float = Field(
        0.6, gt=0, description="discovery meetings an AE can start per business day (opportunity queue)"
    )
    max_wait_days: int = Field(
        5, ge=1, description="a lead waiting longer than this is dropped, never contacted"
    )
    queue_discipline: Literal["fifo", "lifo", "priority", "value", "round_robin"] = Field(
        "fifo",
        description="order in which a rep takes waiting MQL/partner leads each day: fifo (oldest first), "
        "lifo (newest first), priority (highest observed fit first, ties by arrival), value (highest "
        "expected deal value on what a model sees: win_fit x observed fit + size elasticity x log employees) "
        "or round_robin (leads dealt to reps in turn by arrival, each rep oldest first)",
    )
    contact_attempts: int = Field(4, ge=1, description="attempts to reach a lead before giving up")
    contact_rate_mean: float = Field(0.45, gt=0, lt=1, description="mean per-attempt connect rate of a rep")
    speed_decay_hours: float = Field(
        150.0, gt=0, description="connect rate decays as exp(-wait_hours / this) (speed to lead)"
    )
    sdr_prospects_per_day: float = Field(
        6.0, ge=0, description="outbound prospecting attempts per SDR per day"
    )
    prospect_intercept: float = Field(
        -3.0, description="logit of a prospect turning into a lead when reached"
    )
    prospect_need: float = Field(
        2.5, description="logit shift of that when the account is in a buying window"
    )
    prospect_interest: float = Field(0.6, description="logit slope of that on hidden interest")
    prospect_method_lift: dict[str, float] = Field(
        default_factory=dict, description="logit shift of that per prospecting method (cold_call, social, "
        "referral, event), e.g. {referral = 2}: referrals turn into leads more often"
    )  # fmt: skip

    # --- qualification and deals ---------------------------------------------------------------
    accept_intercept: float = Field(1.2, description="logit that a reached MQL is accepted (SAL)")
    accept_fit: float = Field(0.8, description="slope of acceptance on observed fit")
    sql_intercept: float = Field(-1.4, description="logit that an accepted lead becomes an SQL")
    sql_need: float = Field(2.2, description="shift of SQL logit inside a buying window")
    sql_interest: float = Field(0.5, description="slope of SQL logit on hidden interest")
    sql_fit: float = Field(0.5, description="slope of SQL logit on hidden fit")
    sql_skill: float = Field(0.6, description="slope of SQL logit on the qualifying rep's skill")
    win_intercept: float = Field(-2.5, description="logit of winning an opportunity (average account)")
    win_fit: float = Field(0.7, description="slope of win logit on hidden fit")
    win_need: float = Field(0.8, description="shift of win logit inside a buying window")
    win_interest: float = Field(0.35, description="slope of win logit on hidden interest at SQL")
    win_skill: float = Field(1.0, description="slope of win logit on the AE's closing skill")
    win_speed: float = Field(0.2, description="win logit drops by this per log(1 + days to first contact)")
    win_ae_wait: float = Field(0.15, description="win logit drops by this per week an SQL waits for an AE")
    amount_base: float = Field(30000.0, gt=0, description="deal size of a 100-employee account")
    amount_size_elasticity: float = Field(0.45, ge=0, description="amount ∝ employees^elasticity")
    amount_noise: float = Field(0.35, ge=0, description="sd of log amount noise")
    stage_days: tuple[float, float, float, float] = Field(
        (9.0, 12.0, 14.0, 10.0), description="mean days spent in discovery, demo, proposal, negotiation"
    )
    lost_after_stage: tuple[float, float, float, float] = Field(
        (0.4, 0.3, 0.2, 0.1), description="where lost deals drop out (shares; normalized)"
    )
    self_serve_win_factor: float = Field(
        0.3, ge=0, le=1, description="AE off: win probability of a self-serve opportunity relative to AE-led"
    )
    self_serve_amount_factor: float = Field(
        0.5, gt=0, le=1, description="AE off: self-serve deal size factor"
    )

    # --- mechanisms that break naive estimators (docs/simulator.md, "Grid knobs") --------------
    organic_arrival_share: float = Field(
        0.0, ge=0, le=0.8, description="share of in-market accounts that raise an inbound lead on their own "
        "(organic search, direct, word of mouth) when marketing has not captured them first: demand capture"
    )  # fmt: skip
    organic_arrival_delay_days: float = Field(
        30.0, gt=0, description="mean days from the start of the buying window to such an unassisted arrival"
    )
    organic_arrival_interest: float = Field(
        1.0,
        ge=0,
        description="hidden interest an unassisted arrival brings (its own research before the form)",
    )
    exposure_intent: float = Field(
        0.0, ge=0, description="log-weight added to targeted channels' targeting inside a buying window "
        "(retargeting, search ads on searches): touches become partly a symptom of demand"
    )  # fmt: skip
    cadence_stop_on_engagement: float = Field(
        0.0, ge=0, le=1, description="probability that an SDR follows a prospecting attempt that created no "
        "lead with another attempt on the same account (a cadence); a lead from any source ends it"
    )  # fmt: skip
    cadence_max_attempts: int = Field(6, ge=1, description="longest outbound cadence on one account")
    sdr_private_targeting: float = Field(
        0.0, ge=0, description="weight of the HIDDEN fit noise in SDR prospect selection (what reps know and "
        "the data does not show)"
    )  # fmt: skip
    budget_flights: BudgetFlights = Field(default_factory=BudgetFlights)
    sdr_capacity_changes: CapacityChanges = Field(default_factory=CapacityChanges)
    holdouts: Holdouts = Field(default_factory=Holdouts)
    shocks: Shocks = Field(
        default_factory=Shocks, description="mid-history shocks (simulate/shocks.py), all off"
    )
    notes: NoteSettings = Field(default_factory=NoteSettings)

    # --- forecasts and experiment ---------------------------------------------------------------
    forecast_bias_sd: float = Field(0.25, ge=0, description="sd of log forecast bias across AEs")
    forecast_noise: float = Field(0.15, ge=0, description="sd of log noise of one forecast")
    forecast_deal_signal: float = Field(
        2.0, ge=0, description="how well an AE reads each open deal's outcome this quarter (the private "
        "information the CRM lacks): the read is this x (won inside the quarter - 1/2) + N(0, 1), committed "
        "when above 0; 0 = no information, large = knows the outcome of every open deal"
    )  # fmt: skip
    forecast_best_case_margin: float = Field(
        1.0, ge=0, description="best case adds the doubtful deals: reads in (-margin, 0]"
    )
    experiment: bool = Field(True, description="run a rep experiment (random half of AEs get a program)")
    experiment_effect: float = Field(
        0.5, description="program's effect on the win logit of treated AEs' deals"
    )

    @model_validator(mode="after")
    def _check(self) -> SimulationConfig:
        if self.contacts_max < self.contacts_min:
            raise ValueError("contacts_max must be ≥ contacts_min")
        if not self.channels:
            raise ValueError("at least one paid/owned channel is needed")
        clash = set(self.channels) & set(self.pull_channels)
        if clash:
            raise ValueError(f"channels and pull_channels overlap: {sorted(clash)}")
        for name, spec in self.channels.items():
            if abs(sum(spec.kinds.values()) - 1) > 1e-6:
                raise ValueError(f"channels.{name}.kinds shares must sum to 1")
        return self

    @property
    def scale(self) -> float:
        """accounts / REFERENCE_ACCOUNTS: multiplies budgets, volumes and head counts."""
        return self.accounts / REFERENCE_ACCOUNTS

    @property
    def all_channels(self) -> list[str]:
        """Paid/owned channels first, then the unpaid (organic, direct) ones."""
        return [*self.channels, *self.pull_channels]
