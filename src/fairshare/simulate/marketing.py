"""Marketing: spend → touches (diminishing returns) → hidden interest (decaying) → inbound leads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fairshare.schema import TOUCH_KINDS
from fairshare.simulate.budget import budget_plan, budget_touches
from fairshare.simulate.company import Company, _sigmoid
from fairshare.simulate.config import SimulationConfig
from fairshare.simulate.scenarios import Scenario
from fairshare.simulate.streams import Streams

KIND_CODE = {k: i for i, k in enumerate(TOUCH_KINDS)}
PULL_KIND = "visit"


@dataclass
class Marketing:
    """Touches, interest and inbound leads of one scenario (times are days since the start)."""

    touch_time: np.ndarray
    touch_account: np.ndarray
    touch_contact: np.ndarray  # -1: account-level touch
    touch_channel: np.ndarray  # index into cfg.all_channels
    touch_campaign: np.ndarray  # global campaign index, -1: none
    touch_kind: np.ndarray  # index into schema.TOUCH_KINDS
    touch_cost: np.ndarray
    interest: np.ndarray  # (days × accounts) hidden interest at the end of each day
    spend: dict[str, np.ndarray]  # channel → (campaigns × days) spend actually made
    lead_account: np.ndarray
    lead_day: np.ndarray
    lead_time: np.ndarray
    lead_channel: np.ndarray
    lead_campaign: np.ndarray
    lead_contact: np.ndarray
    lead_is_mql: np.ndarray
    lead_window_touches: np.ndarray


def _empty_int() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


def _channel_touches(
    cfg: SimulationConfig, company: Company, streams: Streams, name: str, spec, s_camp
) -> dict:
    """Touches of one paid/owned channel under the spend plan `s_camp` (campaigns × days)."""
    n, days = company.n, cfg.days
    rng = streams.generator(f"touches:{name}")
    eps = rng.normal(0, 1, n)
    weight = np.exp(
        spec.fit_targeting * company.fit_observed
        + cfg.targeting_noise * eps
        + cfg.targeting_confounding * company.fit_hidden_noise
    )
    s_day = s_camp.sum(axis=0)
    budget = spec.daily_budget * cfg.scale
    volume = spec.touches_per_day * cfg.scale * (s_day / budget) ** spec.spend_elasticity
    per_day = rng.poisson(volume)
    total = int(per_day.sum())
    account = rng.choice(n, size=total, p=weight / weight.sum())
    day = np.repeat(np.arange(days), per_day)
    time = day + rng.random(total)
    share = np.cumsum(s_camp[:, day] / np.maximum(s_day[day], 1e-12), axis=0)
    local = np.minimum((rng.random(total)[None, :] > share).sum(axis=0), spec.campaigns - 1)
    kinds = list(spec.kinds)
    kind = np.asarray([KIND_CODE[k] for k in kinds])[
        rng.choice(len(kinds), size=total, p=np.asarray(list(spec.kinds.values())))
    ]
    has_contact = rng.random(total) < spec.contact_share
    pick = company.contact_offset[account] + np.floor(rng.random(total) * company.n_contacts[account]).astype(
        np.int64
    )
    contact = np.where(has_contact, pick, -1)
    cell = local * days + day
    counts = np.bincount(cell, minlength=spec.campaigns * days)
    cost = s_camp.ravel()[cell] / np.maximum(counts[cell], 1)
    return {"time": time, "account": account, "contact": contact, "local": local, "kind": kind, "cost": cost}


def _push_touches(cfg: SimulationConfig, company: Company, streams: Streams, scenario: Scenario) -> dict:
    """Targeted touches of every paid/owned channel that is switched on (each channel: own stream)."""
    campaign_base = {}
    pos = 0
    for name, spec in cfg.channels.items():
        campaign_base[name] = pos
        pos += spec.campaigns
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("time", "account", "contact", "channel", "campaign", "kind",
                                                            "cost", "effect")}  # fmt: skip
    for ci, (name, spec) in enumerate(cfg.channels.items()):
        if not scenario.channel_on(name):
            continue
        touch = _channel_touches(cfg, company, streams, name, spec, company.spend[name])
        if scenario.budget:  # touches from the change on come from the changed spend plan
            touch = budget_touches(touch, scenario, name, company.spend[name],
                                   lambda plan, n=name, sp=spec: _channel_touches(cfg, company, streams, n, sp, plan))  # fmt: skip
        time, account, contact, local, kind, cost = (touch[k] for k in ("time", "account", "contact", "local",
                                                                       "kind", "cost"))  # fmt: skip
        total = time.size
        parts["time"].append(time)
        parts["account"].append(account)
        parts["contact"].append(contact)
        parts["channel"].append(np.full(total, ci))
        parts["campaign"].append(campaign_base[name] + local)
        parts["kind"].append(kind)
        parts["cost"].append(np.round(cost, 4))
        parts["effect"].append(np.full(total, spec.effect))
    if not parts["time"]:
        return {k: (np.zeros(0) if k in ("time", "cost", "effect") else _empty_int()) for k in parts}
    return {k: np.concatenate(v) for k, v in parts.items()}


def run_marketing(cfg: SimulationConfig, company: Company, streams: Streams, scenario: Scenario) -> Marketing:
    """Touches, hidden interest and inbound leads for `scenario`."""
    n, days = company.n, cfg.days
    push = _push_touches(cfg, company, streams, scenario)
    cell = push["time"].astype(np.int64) * n + push["account"]
    increment = np.bincount(cell, weights=push["effect"], minlength=days * n).reshape(days, n)
    counts = np.bincount(cell, minlength=days * n).reshape(days, n).astype(np.int32)
    # last push touch per (day, account): sort by (cell, time) and keep each group's last row
    order = np.lexsort((push["time"], cell))
    sorted_cell = cell[order]
    is_last = np.ones(order.size, dtype=bool)
    is_last[:-1] = sorted_cell[1:] != sorted_cell[:-1]
    last_rows = order[is_last]
    last_day = sorted_cell[is_last] // n
    day_bounds = np.searchsorted(last_day, np.arange(days + 1))

    pull_names = [p for p in cfg.pull_channels if scenario.channel_on(p)]
    pull_codes = [cfg.all_channels.index(p) for p in pull_names]
    d_idx = np.arange(days)[:, None]
    a_idx = np.arange(n)[None, :]
    form_u = streams.uniform("form", d_idx, a_idx)
    pull_u = {p: streams.uniform(f"pull:{p}", d_idx, a_idx) for p in pull_names}
    decay = 0.5 ** (1.0 / cfg.interest_half_life_days)
    interest = np.zeros((days, n), dtype=np.float32)
    level = np.zeros(n)
    last_t = np.full(n, -1e9)
    last_ch = np.full(n, -1, dtype=np.int64)
    last_camp = np.full(n, -1, dtype=np.int64)
    last_contact = np.full(n, -1, dtype=np.int64)
    last_lead = np.full(n, -1e9)
    pull_rows: list[tuple[np.ndarray, np.ndarray, int]] = []
    leads: list[tuple[int, np.ndarray, np.ndarray]] = []
    all_accounts = np.arange(n)
    for d in range(days):
        need = company.need(np.full(n, d), all_accounts)
        rows = last_rows[day_bounds[d] : day_bounds[d + 1]]
        if rows.size:
            acc = push["account"][rows]
            last_t[acc] = push["time"][rows]
            last_ch[acc] = push["channel"][rows]
            last_camp[acc] = push["campaign"][rows]
            last_contact[acc] = push["contact"][rows]
        inc = increment[d]
        for p, code in zip(pull_names, pull_codes, strict=True):
            hit = np.flatnonzero(pull_u[p][d] < cfg.pull_channels[p] * (0.15 + need) * (1.0 + level))
            if hit.size:
                t = d + streams.uniform(f"pull_time:{p}", d, hit)
                pull_rows.append((hit, t, code))
                counts[d, hit] += 1
                inc = inc + np.bincount(hit, minlength=n) * cfg.pull_effect
                newer = t > last_t[hit]
                h = hit[newer]
                last_t[h] = t[newer]
                last_ch[h] = code
                last_camp[h] = -1
                last_contact[h] = -1
        level = decay * level + np.log1p(inc)
        interest[d] = level
        if not scenario.marketing:
            continue
        eligible = (last_t >= d - cfg.form_lookback_days) & (d - last_lead >= cfg.lead_cooldown_days)
        p_form = _sigmoid(cfg.form_intercept + cfg.form_interest * level + cfg.form_need * need)
        fill = np.flatnonzero(eligible & (form_u[d] < p_form))
        if fill.size:
            last_lead[fill] = d
            leads.append((d, fill, last_t[fill].copy()))

    # inbound leads (a form fill is also a touch, in the channel of the touch before it)
    if leads:
        lead_day = np.concatenate([np.full(f.size, d) for d, f, _ in leads])
        lead_account = np.concatenate([f for _, f, _ in leads])
        prev_t = np.concatenate([t for _, _, t in leads])
    else:
        lead_day, lead_account, prev_t = _empty_int(), _empty_int(), np.zeros(0)
    # source channel/campaign/contact as of the form fill: recompute from touches before it
    u_time = streams.uniform("form_time", lead_account, lead_day)
    lead_time = np.minimum(np.maximum(lead_day + 0.3 + 0.6 * u_time, prev_t + 0.002), lead_day + 0.9999)
    pull_time = np.concatenate([t for _, t, _ in pull_rows]) if pull_rows else np.zeros(0)
    pull_acc = np.concatenate([h for h, _, _ in pull_rows]) if pull_rows else _empty_int()
    pull_ch = np.concatenate([np.full(h.size, c) for h, _, c in pull_rows]) if pull_rows else _empty_int()
    t_time = np.concatenate([push["time"], pull_time])
    t_acc = np.concatenate([push["account"], pull_acc])
    t_ch = np.concatenate([push["channel"], pull_ch])
    t_camp = np.concatenate([push["campaign"], np.full(pull_time.size, -1)])
    t_contact = np.concatenate([push["contact"], np.full(pull_time.size, -1)])
    t_kind = np.concatenate([push["kind"], np.full(pull_time.size, KIND_CODE[PULL_KIND])])
    t_cost = np.concatenate([push["cost"], np.zeros(pull_time.size)])
    # the touch right before each form: last touch of the account at or before prev_t
    order = np.lexsort((t_time, t_acc))
    key_sorted = t_acc[order] * 10_000.0 + t_time[order]
    pos = np.searchsorted(key_sorted, lead_account * 10_000.0 + prev_t + 1e-7, side="right") - 1
    src = order[np.clip(pos, 0, max(0, order.size - 1))] if order.size else _empty_int()
    lead_channel = t_ch[src] if src.size else _empty_int()
    lead_campaign = t_camp[src] if src.size else _empty_int()
    known = t_contact[src] if src.size else _empty_int()
    u_contact = streams.uniform("form_contact", lead_account, lead_day)
    pick = company.contact_offset[lead_account] + np.floor(
        u_contact * company.n_contacts[lead_account]
    ).astype(np.int64)
    lead_contact = np.where(known >= 0, known, pick)
    cum = np.cumsum(counts, axis=0)
    lo = lead_day - cfg.form_lookback_days
    before = np.where(lo >= 0, cum[np.maximum(lo, 0), lead_account], 0)
    window = cum[lead_day, lead_account] - before + 1
    is_mql = window >= cfg.mql_min_touches

    touch = {
        "time": np.concatenate([t_time, lead_time]),
        "account": np.concatenate([t_acc, lead_account]),
        "contact": np.concatenate([t_contact, lead_contact]),
        "channel": np.concatenate([t_ch, lead_channel]),
        "campaign": np.concatenate([t_camp, lead_campaign]),
        "kind": np.concatenate([t_kind, np.full(lead_account.size, KIND_CODE["form"])]),
        "cost": np.concatenate([t_cost, np.zeros(lead_account.size)]),
    }
    plan = budget_plan(company.spend, scenario)
    spend = {c: (s if scenario.channel_on(c) else np.zeros_like(s)) for c, s in plan.items()}
    return Marketing(
        touch_time=touch["time"], touch_account=touch["account"], touch_contact=touch["contact"],
        touch_channel=touch["channel"], touch_campaign=touch["campaign"], touch_kind=touch["kind"],
        touch_cost=touch["cost"], interest=interest, spend=spend,
        lead_account=lead_account, lead_day=lead_day, lead_time=lead_time, lead_channel=lead_channel,
        lead_campaign=lead_campaign, lead_contact=lead_contact, lead_is_mql=is_mql, lead_window_touches=window,
    )  # fmt: skip
