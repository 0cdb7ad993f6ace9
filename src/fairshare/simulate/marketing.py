"""Marketing: spend → touches (diminishing returns) → hidden interest (decaying) → inbound leads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fairshare.schema import TOUCH_KINDS
from fairshare.simulate.budget import budget_plan, budget_touches
from fairshare.simulate.company import REGION_SHARE, Company, _sigmoid
from fairshare.simulate.config import SimulationConfig
from fairshare.simulate.scenarios import Scenario
from fairshare.simulate.streams import Streams

KIND_CODE = {k: i for i, k in enumerate(TOUCH_KINDS)}
PULL_KIND = "visit"
#: source channels of unassisted inbound leads (organic_arrival_share): not marketing channels, no touch
ARRIVAL_CHANNELS = ("organic_search", "direct_traffic", "word_of_mouth")
ARRIVAL_CHANNEL_SHARE = (0.5, 0.3, 0.2)
#: about 80% of marketing-sourced demand comes from accounts in the market (default company), so an in-market
#: account arrives on its own with probability min(1, share / 0.8): the share applies to marketing-sourced demand
ARRIVAL_SCALE = 1.25


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
    arrival: dict[str, np.ndarray]  # unassisted inbound leads: account, day, time, channel, contact


def _empty_int() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


def need_matrix(cfg: SimulationConfig, company: Company) -> np.ndarray:
    """(days × accounts) bool: inside the buying window (hidden)."""
    d = np.arange(cfg.days)[:, None]
    return (
        company.in_market[None, :] & (d >= company.window_start[None, :]) & (d <= company.window_end[None, :])
    )


def arrival_plan(cfg: SimulationConfig, company: Company, streams: Streams) -> tuple[np.ndarray, np.ndarray]:
    """Accounts that would raise a lead on their own and the day they would (inside their buying window).

    An in-market account arrives with probability min(1, ARRIVAL_SCALE × `organic_arrival_share`),
    `organic_arrival_delay_days` (exponential) after its window opens (or the period starts), never after
    90% of the window has passed.
    """
    acc = np.arange(company.n)
    begin = np.maximum(company.window_start, 0.0)
    room = company.window_end - begin
    arrives = (
        company.in_market
        & (room > 0)
        & (streams.uniform("arrival", acc) < ARRIVAL_SCALE * cfg.organic_arrival_share)
    )
    delay = -cfg.organic_arrival_delay_days * np.log(streams.uniform("arrival_delay", acc))
    day = np.ceil(begin + np.minimum(delay, 0.9 * room)).astype(np.int64)
    keep = arrives & (day < cfg.days) & (day <= company.window_end)
    return acc[keep], day[keep]


def _targeted_accounts(
    rng: np.random.Generator, volume: np.ndarray, weight: np.ndarray, group: np.ndarray,
    intent: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Touches per (group, day) ~ Poisson(volume[g, d]); each lands on an account of its group with weight
    `weight × exp(intent[d])` (intent: days × accounts log-weights, or None). Returns account, day, group."""
    days = volume.shape[1]
    out_acc, out_day, out_group = [], [], []
    for g in range(volume.shape[0]):
        members = np.flatnonzero(group == g)
        w = np.broadcast_to(weight[members], (days, members.size))
        if intent is not None:
            w = w * np.exp(intent[:, members])
        cum = np.cumsum(w, axis=1)
        total_w = cum[:, -1] if members.size else np.zeros(days)
        vol = np.where(total_w > 0, volume[g], 0.0)
        per_day = rng.poisson(vol)
        day = np.repeat(np.arange(days), per_day)
        u = rng.random(day.size)
        if not day.size:
            continue
        flat = (cum / np.where(total_w > 0, total_w, 1.0)[:, None] + np.arange(days)[:, None]).ravel()
        pos = np.minimum(np.searchsorted(flat, day + u, side="left"), flat.size - 1)
        out_acc.append(members[np.minimum(pos - day * members.size, members.size - 1)])
        out_day.append(day)
        out_group.append(np.full(day.size, g))
    if not out_acc:
        return _empty_int(), _empty_int(), _empty_int()
    return np.concatenate(out_acc), np.concatenate(out_day), np.concatenate(out_group)


def _push_touches(cfg: SimulationConfig, company: Company, streams: Streams, scenario: Scenario) -> dict:
    """Targeted touches of every paid/owned channel that is switched on (each channel: own stream)."""
    n, days = company.n, cfg.days
    campaign_base = {}
    pos = 0
    for name in cfg.channels:
        campaign_base[name] = pos
        pos += company.spend[name].shape[0]
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("time", "account", "contact", "channel", "campaign", "kind",
                                                            "cost", "effect")}  # fmt: skip
    regional = bool((company.campaign_region >= 0).any())
    planned = np.asarray(REGION_SHARE) if regional else np.ones(1)
    group_of = company.region if regional else np.zeros(n, dtype=np.int64)
    intent = cfg.exposure_intent * need_matrix(cfg, company) if cfg.exposure_intent > 0 else None
    for ci, (name, spec) in enumerate(cfg.channels.items()):
        if not scenario.channel_on(name):
            continue

        def touches_under(s_camp: np.ndarray, name: str = name, spec=spec) -> dict[str, np.ndarray]:
            """The channel's touches under the spend plan `s_camp` (campaigns × days)."""
            rng = streams.generator(f"touches:{name}")
            eps = rng.normal(0, 1, n)
            weight = np.exp(
                spec.fit_targeting * company.fit_observed
                + cfg.targeting_noise * eps
                + cfg.targeting_confounding * company.fit_hidden_noise
            )
            if company.holdout_marketing.any():
                weight = np.where(company.holdout_marketing, 0.0, weight)
            s_day = s_camp.sum(axis=0)
            budget = spec.daily_budget * cfg.scale
            rows = s_camp.shape[0]
            if not regional and intent is None:
                volume = spec.touches_per_day * cfg.scale * (s_day / budget) ** spec.spend_elasticity
                per_day = rng.poisson(volume)
                total = int(per_day.sum())
                account = rng.choice(n, size=total, p=weight / weight.sum())
                day = np.repeat(np.arange(days), per_day)
                time = day + rng.random(total)
                share = np.cumsum(s_camp[:, day] / np.maximum(s_day[day], 1e-12), axis=0)
                local = np.minimum((rng.random(total)[None, :] > share).sum(axis=0), rows - 1)
            else:  # per (region, day) volumes from regional spend; targeting that follows the buying window
                row_region = np.maximum(
                    company.campaign_region[campaign_base[name] : campaign_base[name] + rows], 0
                )
                s_group = np.stack([s_camp[row_region == g].sum(axis=0) for g in range(planned.size)])
                volume = (spec.touches_per_day * cfg.scale * planned[:, None]
                          * (s_group / (budget * planned[:, None])) ** spec.spend_elasticity)  # fmt: skip
                account, day, group = _targeted_accounts(rng, volume, weight, group_of, intent)
                total = account.size
                time = day + rng.random(total)
                s_cell = s_camp[:, day] * (row_region[:, None] == group[None, :])
                share = np.cumsum(s_cell / np.maximum(s_cell.sum(axis=0), 1e-12), axis=0)
                local = np.minimum((rng.random(total)[None, :] > share).sum(axis=0), rows - 1)
                last = rows - 1 - np.argmax(s_cell[::-1] > 0, axis=0)  # rounding: stay in the touch's region
                local = np.where(s_cell[local, np.arange(total)] > 0, local, last)
            kinds = list(spec.kinds)
            kind = np.asarray([KIND_CODE[k] for k in kinds])[
                rng.choice(len(kinds), size=total, p=np.asarray(list(spec.kinds.values())))
            ]
            has_contact = rng.random(total) < spec.contact_share
            pick = company.contact_offset[account] + np.floor(
                rng.random(total) * company.n_contacts[account]
            ).astype(np.int64)
            contact = np.where(has_contact, pick, -1)
            cell = local * days + day
            counts = np.bincount(cell, minlength=rows * days)
            cost = s_camp.ravel()[cell] / np.maximum(counts[cell], 1)
            return {"time": time, "account": account, "contact": contact, "local": local, "kind": kind,
                    "cost": cost}  # fmt: skip

        touch = touches_under(company.spend[name])
        if scenario.budget:  # from the change day on, the touches of the changed spend plan
            touch = budget_touches(touch, scenario, name, company.spend[name], touches_under)
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
    captured = np.zeros(n, dtype=bool)  # the account's last inbound lead came inside its buying window
    pull_rows: list[tuple[np.ndarray, np.ndarray, int]] = []
    leads: list[tuple[int, np.ndarray, np.ndarray]] = []
    arrive_acc, arrive_day = arrival_plan(cfg, company, streams)
    by_day = np.argsort(arrive_day, kind="stable")
    arrive_acc, arrive_day = arrive_acc[by_day], arrive_day[by_day]
    arrive_bounds = np.searchsorted(arrive_day, np.arange(days + 1))
    arrived: list[np.ndarray] = []
    arrived_day: list[np.ndarray] = []
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
        if scenario.marketing:
            eligible = (last_t >= d - cfg.form_lookback_days) & (d - last_lead >= cfg.lead_cooldown_days)
            p_form = _sigmoid(cfg.form_intercept + cfg.form_interest * level + cfg.form_need * need)
            fill = np.flatnonzero(eligible & (form_u[d] < p_form))
            if fill.size:
                last_lead[fill] = d
                captured[fill] = need[fill] > 0
                leads.append((d, fill, last_t[fill].copy()))
        # unassisted arrivals: the account raises its hand itself unless marketing captured it first
        come = arrive_acc[arrive_bounds[d] : arrive_bounds[d + 1]]
        if come.size:
            # captured first: a marketing lead inside this buying window within the cooldown (a lead from
            # before the window did not carry this demand, so it does not block the arrival)
            come = come[(d - last_lead[come] >= cfg.lead_cooldown_days) | ~captured[come]]
            captured[come] = True
            last_lead[come] = d
            level[come] += cfg.organic_arrival_interest  # it researched on its own before raising its hand
            interest[d, come] = level[come]
            arrived.append(come)
            arrived_day.append(np.full(come.size, d))

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
    a_acc = np.concatenate(arrived) if arrived else _empty_int()
    a_day = np.concatenate(arrived_day) if arrived else _empty_int()
    u_ch = streams.uniform("arrival_channel", a_acc, a_day)
    arrival = {
        "account": a_acc, "day": a_day,
        "time": a_day + 0.3 + 0.6 * streams.uniform("arrival_time", a_acc, a_day),
        "channel": np.minimum(np.searchsorted(np.cumsum(ARRIVAL_CHANNEL_SHARE), u_ch), len(ARRIVAL_CHANNELS) - 1),
        "contact": company.contact_offset[a_acc]
        + np.floor(streams.uniform("arrival_contact", a_acc, a_day) * company.n_contacts[a_acc]).astype(np.int64),
    }  # fmt: skip
    return Marketing(
        touch_time=touch["time"], touch_account=touch["account"], touch_contact=touch["contact"],
        touch_channel=touch["channel"], touch_campaign=touch["campaign"], touch_kind=touch["kind"],
        touch_cost=touch["cost"], interest=interest, spend=spend,
        lead_account=lead_account, lead_day=lead_day, lead_time=lead_time, lead_channel=lead_channel,
        lead_campaign=lead_campaign, lead_contact=lead_contact, lead_is_mql=is_mql, lead_window_touches=window,
        arrival=arrival,
    )  # fmt: skip
