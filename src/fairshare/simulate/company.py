"""The parts of the company that no scenario changes: accounts, contacts, reps, campaigns and spend plans."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fairshare.simulate.config import SimulationConfig
from fairshare.simulate.streams import Streams
from fairshare.simulate.variation import flight_factors, holdout_accounts, region_shares, sdr_calendar

INDUSTRIES = (
    "software",
    "fintech",
    "healthcare",
    "manufacturing",
    "retail",
    "media",
    "education",
    "government",
)
INDUSTRY_SHARE = (0.22, 0.1, 0.14, 0.16, 0.12, 0.08, 0.1, 0.08)
INDUSTRY_FIT = (0.9, 0.7, 0.3, 0.0, -0.3, 0.1, -0.6, -0.9)
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
REGION_SHARE = (0.45, 0.3, 0.15, 0.1)
REGION_FIT = (0.25, 0.1, -0.25, -0.45)
PERSONAS = ("decision_maker", "champion", "influencer", "user", "finance")
PERSONA_SHARE = (0.2, 0.25, 0.25, 0.2, 0.1)
TITLES = {
    "decision_maker": ("VP Sales", "VP Marketing", "CRO", "COO"),
    "champion": ("Head of RevOps", "Sales Ops Manager", "Marketing Ops Lead"),
    "influencer": ("Sales Manager", "Demand Gen Manager", "BI Analyst"),
    "user": ("Account Executive", "SDR", "Marketing Specialist"),
    "finance": ("CFO", "Controller", "Procurement Manager"),
}
_NAME_A = (
    "Blue",
    "North",
    "Bright",
    "Iron",
    "Silver",
    "Clear",
    "Swift",
    "Prime",
    "Green",
    "Red",
    "Bold",
    "Quiet",
)
_NAME_B = (
    "River",
    "Peak",
    "Harbor",
    "Forge",
    "Field",
    "Stone",
    "Wave",
    "Bridge",
    "Cloud",
    "Grove",
    "Line",
    "Gate",
)
_NAME_C = ("Labs", "Systems", "Group", "Works", "Partners", "Holdings", "Tech", "Co")
_FIRST = (
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Ema",
    "Finn",
    "Gia",
    "Hugo",
    "Ines",
    "Jon",
    "Kai",
    "Lena",
    "Max",
    "Nia",
)
_LAST = ("Smith", "Garcia", "Chen", "Muller", "Rossi", "Kowalski", "Silva", "Novak", "Berg", "Okafor")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Company:
    """Scenario-independent arrays (index = position; ids are derived from positions)."""

    n: int
    industry: np.ndarray
    region: np.ndarray
    employees: np.ndarray
    annual_revenue: np.ndarray
    created_day: np.ndarray  # days relative to start (negative: before the period)
    fit_observed: np.ndarray  # standardized firmographic fit (what a model can see)
    fit_hidden_noise: np.ndarray  # standard normal, hidden
    fit: np.ndarray  # fit_observed + fit_noise * fit_hidden_noise
    in_market: np.ndarray  # bool: has a buying window in the period
    window_start: np.ndarray
    window_end: np.ndarray
    # contacts (flattened; account k's contacts are contact_offset[k] : contact_offset[k] + n_contacts[k])
    n_contacts: np.ndarray
    contact_offset: np.ndarray
    contact_account: np.ndarray
    contact_persona: np.ndarray
    contact_created_day: np.ndarray
    # reps (SDRs first, then AEs)
    n_sdr: int
    n_ae: int
    rep_skill: np.ndarray
    rep_contact_rate: np.ndarray
    rep_hourly_cost: np.ndarray
    rep_region: np.ndarray
    rep_hired_day: np.ndarray
    rep_forecast_bias: np.ndarray
    ae_treated: np.ndarray  # bool per AE: in the experiment's treatment arm
    # campaigns and spend plan
    campaign_channel: list[str]
    campaign_index_in_channel: list[int]
    campaign_start: np.ndarray
    campaign_end: np.ndarray
    spend: dict[str, np.ndarray]  # channel → (campaigns of that channel × days) planned spend
    business_day: np.ndarray  # bool per day
    names: list[str]
    campaign_region: np.ndarray  # region index of each campaign row (-1: not regional)
    sdr_active: np.ndarray  # (SDRs × days) bool: at work that day (capacity changes)
    rep_left_day: np.ndarray  # per rep, NaN unless the rep left during the period
    holdout_marketing: np.ndarray  # bool per account: no targeted touches (randomized holdout)
    holdout_sdr: np.ndarray  # bool per account: never prospected by SDRs (randomized holdout)

    def need(self, day: np.ndarray, account: np.ndarray) -> np.ndarray:
        """1.0 where the account is inside its buying window on that day (hidden)."""
        return (
            self.in_market[account] & (day >= self.window_start[account]) & (day <= self.window_end[account])
        ).astype(float)


def build_company(cfg: SimulationConfig, streams: Streams) -> Company:
    """Draw accounts, contacts, reps and campaign spend plans (identical in every scenario)."""
    n = cfg.accounts
    rng = streams.generator("accounts")
    industry = rng.choice(len(INDUSTRIES), size=n, p=np.array(INDUSTRY_SHARE) / sum(INDUSTRY_SHARE))
    region = rng.choice(len(REGIONS), size=n, p=REGION_SHARE)
    employees = np.clip(np.round(np.exp(rng.normal(np.log(180), 1.25, n))), 5, 60000).astype(np.int64)
    annual_revenue = np.round(employees * 160_000 * np.exp(rng.normal(0, 0.35, n)), -3)
    created_day = -rng.integers(30, 3 * 365, n)
    log_emp = np.log10(employees)
    raw_fit = (
        np.asarray(INDUSTRY_FIT)[industry]
        + np.asarray(REGION_FIT)[region]
        - 0.45 * (log_emp - 2.8) ** 2
        + 0.3
    )
    fit_observed = (raw_fit - 0.0) / 0.75
    noise = rng.normal(0, 1, n)
    fit = fit_observed + cfg.fit_noise * noise
    in_market = rng.random(n) < _sigmoid(cfg.in_market_intercept + cfg.in_market_fit * fit)
    length = rng.gamma(4.0, cfg.buying_window_days / 4.0, n)
    window_start = rng.uniform(-0.3 * cfg.buying_window_days, cfg.days - 20, n)
    window_end = window_start + length
    name_idx = rng.integers(0, [len(_NAME_A), len(_NAME_B), len(_NAME_C)], size=(n, 3))
    names = [f"{_NAME_A[i]} {_NAME_B[j]} {_NAME_C[k]}" for i, j, k in name_idx.tolist()]

    crng = streams.generator("contacts")
    size_bonus = np.clip((log_emp - 1.5) / 2.5, 0, 1)
    span = cfg.contacts_max - cfg.contacts_min
    n_contacts = cfg.contacts_min + np.minimum(
        span, np.floor(crng.random(n) * (span + 1) * (0.5 + 0.5 * size_bonus))
    )
    n_contacts = n_contacts.astype(np.int64)
    offset = np.concatenate([[0], np.cumsum(n_contacts)[:-1]])
    contact_account = np.repeat(np.arange(n), n_contacts)
    persona = crng.choice(len(PERSONAS), size=contact_account.size, p=PERSONA_SHARE)
    contact_created = created_day[contact_account] + crng.integers(0, 200, contact_account.size)

    s = cfg.scale
    n_sdr = max(1, round(cfg.sdrs * s))
    n_ae = max(2, round(cfg.aes * s))
    rrng = streams.generator("reps")
    n_rep = n_sdr + n_ae
    is_ae = np.arange(n_rep) >= n_sdr
    skill = rrng.normal(0, 1, n_rep) * np.where(is_ae, cfg.ae_skill_sd, cfg.sdr_skill_sd)
    base = np.log(cfg.contact_rate_mean / (1 - cfg.contact_rate_mean))
    contact_rate = _sigmoid(base + 0.5 * rrng.normal(0, 1, n_rep) + 0.3 * skill)
    hourly = np.where(is_ae, cfg.ae_hourly_cost, cfg.sdr_hourly_cost) * np.exp(rrng.normal(0, 0.12, n_rep))
    rep_region = rrng.choice(len(REGIONS), size=n_rep, p=REGION_SHARE)
    hired = -rrng.integers(60, 5 * 365, n_rep)
    sdr_active, sdr_hired, left_sdr = sdr_calendar(
        cfg.sdr_capacity_changes, n_sdr, cfg.days, hired[:n_sdr], streams.generator("capacity")
    )
    rep_left = np.concatenate([left_sdr, np.full(n_ae, np.nan)])
    if cfg.sdr_capacity_changes.enabled:
        hired = np.concatenate([sdr_hired, hired[n_sdr:]])
    holdout_mk, holdout_sdr = holdout_accounts(cfg.holdouts, n, streams)
    bias = np.exp(rrng.normal(0, cfg.forecast_bias_sd, n_rep))
    erng = streams.generator("experiment")
    treated = np.zeros(n_ae, dtype=bool)
    treated[erng.permutation(n_ae)[: n_ae // 2]] = True

    # campaigns: per channel, campaign 0 is always on, the others are flights
    prng = streams.generator("campaigns")
    days = np.arange(cfg.days)
    campaign_channel: list[str] = []
    campaign_index: list[int] = []
    starts, ends = [], []
    spend: dict[str, np.ndarray] = {}
    camp_region: list[np.ndarray] = []
    flights = cfg.budget_flights
    frng = streams.generator("flights")
    regional = flights.enabled and flights.regional
    for name, spec in cfg.channels.items():
        k = spec.campaigns
        st = np.concatenate([[0], prng.integers(0, max(1, cfg.days - 30), k - 1)]).astype(float)
        ln = np.concatenate([[cfg.days], prng.integers(30, 120, k - 1)]).astype(float)
        en = np.minimum(st + ln, cfg.days) - 1
        active = (days[None, :] >= st[:, None]) & (days[None, :] <= en[:, None])
        weight = np.concatenate([[1.0], prng.uniform(0.5, 1.5, k - 1) * (1.0 / max(1, k - 1))])
        daily = active * weight[:, None]
        weekday = np.array([(cfg.start.toordinal() + d) % 7 for d in days])  # 0 = Monday for date.toordinal()
        weekly = np.where(np.isin(weekday, (6, 0)), 0.6, 1.0)  # ordinal % 7: 0 = Sunday, 6 = Saturday
        daily = daily * weekly[None, :] * np.exp(prng.normal(0, 0.25, daily.shape))
        if flights.enabled:
            daily = daily * flight_factors(flights, cfg.days, frng)[None, :]
        total = spec.daily_budget * s * cfg.days
        daily = daily / daily.sum() * total
        regions = np.arange(len(REGIONS)) if regional else np.array([-1])
        if regional:  # one campaign row per (campaign, region): the region's share of the day's spend
            share = region_shares(flights, np.asarray(REGION_SHARE), cfg.days, frng)
            daily = (daily[:, None, :] * share[None, :, :]).reshape(k * regions.size, cfg.days)
        spend[name] = np.round(daily, 2)
        for i in range(k):
            campaign_channel.extend([name] * regions.size)
            campaign_index.extend([i] * regions.size)
            camp_region.append(regions)
        starts.append(np.repeat(st, regions.size))
        ends.append(np.repeat(en, regions.size))
    ordinal = cfg.start.toordinal() + days
    business_day = (ordinal % 7 != 0) & (ordinal % 7 != 6)
    return Company(
        n=n, industry=industry, region=region, employees=employees, annual_revenue=annual_revenue,
        created_day=created_day, fit_observed=fit_observed, fit_hidden_noise=noise, fit=fit,
        in_market=in_market, window_start=window_start, window_end=window_end,
        n_contacts=n_contacts, contact_offset=offset, contact_account=contact_account,
        contact_persona=persona, contact_created_day=contact_created,
        n_sdr=n_sdr, n_ae=n_ae, rep_skill=skill, rep_contact_rate=contact_rate, rep_hourly_cost=hourly,
        rep_region=rep_region, rep_hired_day=hired, rep_forecast_bias=bias, ae_treated=treated,
        campaign_channel=campaign_channel, campaign_index_in_channel=campaign_index,
        campaign_start=np.concatenate(starts), campaign_end=np.concatenate(ends), spend=spend,
        business_day=business_day, names=names, campaign_region=np.concatenate(camp_region), sdr_active=sdr_active,
        rep_left_day=rep_left, holdout_marketing=holdout_mk, holdout_sdr=holdout_sdr,
    )  # fmt: skip
