"""SDR outbound prospecting: the calendar of attempts, whom SDRs pick, cadences, and the leads it creates.

Every attempt's dice are keyed by (SDR, day, slot), so switching marketing off leaves the calendar alone.
"""

from __future__ import annotations

import heapq

import numpy as np

from fairshare.simulate.company import Company, _sigmoid
from fairshare.simulate.config import SimulationConfig
from fairshare.simulate.scenarios import Scenario
from fairshare.simulate.streams import Streams

PROSPECTING = ("cold_call", "social", "referral", "event")
PROSPECTING_SHARE = (0.6, 0.2, 0.1, 0.1)
PROSPECTING_KIND = ("call", "social", "email", "meeting")
POSITIVE_NOTES = ("asked about pricing", "evaluating vendors this quarter", "budget approved",
                  "wants a demo next week", "pain with current process")  # fmt: skip
NEGATIVE_NOTES = ("no budget", "not a priority right now", "happy with current tool",
                  "just researching", "timing is next year")  # fmt: skip
WORK_START, WORK_HOURS = 9 / 24, 8 / 24
#: with cadences on, a fresh pick that lands on an account that is already a lead is redrawn this often
REDRAWS = 5


def business_slots(business_day: np.ndarray, rate: float) -> np.ndarray:
    """Whole units of capacity per day for a fractional daily rate (cumulative capacity never rounds away)."""
    b = np.cumsum(business_day) * business_day
    cum = np.floor(b * rate + 1e-9)
    prev = np.floor((b - 1).clip(0) * rate + 1e-9)
    return np.where(business_day, cum - prev, 0).astype(np.int64)


def contact_of(company: Company, account: np.ndarray, u: np.ndarray) -> np.ndarray:
    return company.contact_offset[account] + np.floor(u * company.n_contacts[account]).astype(np.int64)


def _engaged(existing: dict[int, list[float]], a: int, t: float, cooldown: int) -> bool:
    return any(t - cooldown < s <= t for s in existing.get(a, ()))


def _claim(existing: dict[int, list[float]], acc: np.ndarray, time: np.ndarray, interested: np.ndarray,
           cooldown: int) -> np.ndarray:  # fmt: skip
    """Interested prospects become leads in time order unless the account already has a recent lead."""
    creates = np.zeros(acc.size, dtype=bool)
    for i in np.flatnonzero(interested)[np.argsort(time[interested], kind="stable")].tolist():
        a, t = int(acc[i]), float(time[i])
        if _engaged(existing, a, t, cooldown):
            continue
        existing.setdefault(a, []).append(t)
        creates[i] = True
    return creates


def _cadences(cfg: SimulationConfig, streams: Streams, rep: np.ndarray, day: np.ndarray, j: np.ndarray,
              time: np.ndarray, fresh: np.ndarray, redraw, p_interest, connected: np.ndarray,
              existing: dict[int, list[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Day by day: an SDR's slots go first to due follow-ups of silent accounts, then to fresh picks.

    A fresh pick that is already a lead is redrawn (SDRs prospect accounts that are not in the funnel).
    A follow-up is scheduled with probability `cadence_stop_on_engagement` after an attempt that created no
    lead, up to `cadence_max_attempts`; a due follow-up is dropped once the account has a lead from any
    source (it engaged). Attempt counts per account are thus partly caused by not converting.
    """
    cooldown = cfg.lead_cooldown_days
    acc = fresh.copy()
    interested = np.zeros(acc.size, dtype=bool)
    creates = np.zeros(acc.size, dtype=bool)
    attempt = np.ones(acc.size, dtype=np.int64)
    u_follow = streams.uniform("cadence_follow", rep, day, j)
    u_gap = streams.uniform("cadence_gap", rep, day, j)
    u_int = streams.uniform("prospect_interest", rep, day, j)
    pending: dict[int, list[tuple[int, int, int, int]]] = {}
    seq = 0
    order = np.argsort(day, kind="stable")
    bounds = np.searchsorted(day[order], np.arange(cfg.days + 1))
    for d in range(cfg.days):
        idx = order[bounds[d] : bounds[d + 1]]
        if not idx.size:
            continue
        for i in idx.tolist():  # rep-major, slot order: follow-ups take a rep's first slots
            heap = pending.get(int(rep[i]))
            while heap and heap[0][0] <= d:
                _, _, a, k = heapq.heappop(heap)
                if _engaged(existing, a, float(time[i]), cooldown):
                    continue
                acc[i], attempt[i] = a, k
                break
            else:  # a fresh pick skips accounts that are already leads (up to a few redraws)
                for r in range(1, REDRAWS + 1):
                    if not _engaged(existing, int(acc[i]), float(time[i]), cooldown):
                        break
                    acc[i] = redraw(i, r)
        interested[idx] = connected[idx] & (u_int[idx] < p_interest(day[idx], acc[idx], idx))
        creates[idx] = _claim(existing, acc[idx], time[idx], interested[idx], cooldown)
        for i in idx.tolist():
            a = int(acc[i])
            # no lead yet (silence or "not interested"): the cadence goes on; a lead from any source ends it
            if creates[i] or attempt[i] >= cfg.cadence_max_attempts:
                continue
            if u_follow[i] >= cfg.cadence_stop_on_engagement or _engaged(
                existing, a, float(time[i]), cooldown
            ):
                continue
            seq += 1
            heapq.heappush(
                pending.setdefault(int(rep[i]), []), (d + 2 + int(3 * u_gap[i]), seq, a, int(attempt[i]) + 1)
            )
    return acc, interested, creates


def prospecting(cfg: SimulationConfig, company: Company, streams: Streams, scenario: Scenario,
                interest: np.ndarray, existing: dict[int, list[float]], add_activities) -> dict[str, np.ndarray]:  # fmt: skip
    """SDR-sourced leads (account, day, time, rep, method, contact); records every attempt as an activity.

    `existing` (account → lead times) is extended with the new leads; `add_activities(**columns)` records
    the attempts (`lead` = -2 where the attempt created a lead, filled in by the caller).
    """
    days, n_sdr = cfg.days, company.n_sdr
    empty = {"account": [], "day": [], "time": [], "rep": [], "method": [], "contact": []}
    if not (scenario.sdr and scenario.sdr_outbound) or cfg.sdr_prospects_per_day <= 0:
        return empty
    slots = business_slots(company.business_day, cfg.sdr_prospects_per_day * scenario.capacity)
    day_of_slot = np.repeat(np.arange(days), slots)
    j_of_slot = np.arange(day_of_slot.size) - np.repeat(np.cumsum(slots) - slots, slots)
    rep = np.repeat(np.arange(n_sdr), day_of_slot.size)
    day = np.tile(day_of_slot, n_sdr)
    j = np.tile(j_of_slot, n_sdr)
    if cfg.sdr_capacity_changes.enabled:  # no attempts on days off, before the hire or after leaving
        at_work = company.sdr_active[rep, day]
        rep, day, j = rep[at_work], day[at_work], j[at_work]
    trng = streams.generator("prospect_targeting")
    w = np.exp(company.fit_observed + cfg.targeting_noise * trng.normal(0, 1, company.n)
               + cfg.targeting_confounding * company.fit_hidden_noise)  # fmt: skip
    if cfg.sdr_private_targeting > 0:
        w = w * np.exp(cfg.sdr_private_targeting * company.fit_hidden_noise)
    if company.holdout_sdr.any():
        w = np.where(company.holdout_sdr, 0.0, w)
    cumw = np.cumsum(w) / w.sum()
    acc = np.minimum(np.searchsorted(cumw, streams.uniform("prospect_pick", rep, day, j)), company.n - 1)
    time = day + WORK_START + WORK_HOURS * streams.uniform("prospect_time", rep, day, j)
    method = np.searchsorted(np.cumsum(PROSPECTING_SHARE), streams.uniform("prospect_method", rep, day, j))
    method = np.minimum(method, len(PROSPECTING) - 1)
    connected = streams.uniform("prospect_connect", rep, day, j) < company.rep_contact_rate[rep] * 0.5

    lift = np.array([cfg.prospect_method_lift.get(m, 0.0) for m in PROSPECTING])[method]

    def p_interest(d: np.ndarray, a: np.ndarray, i: np.ndarray | slice) -> np.ndarray:
        need = company.need(d, a)
        return _sigmoid(cfg.prospect_intercept + cfg.prospect_need * need + cfg.prospect_interest * interest[d, a]
                        + lift[i])  # fmt: skip

    if cfg.cadence_stop_on_engagement > 0:

        def redraw(i: int, r: int) -> int:
            u_pick = float(streams.uniform("prospect_pick", rep[i], day[i], j[i], slot=r))
            return int(min(np.searchsorted(cumw, u_pick), company.n - 1))

        acc, interested, creates = _cadences(
            cfg, streams, rep, day, j, time, acc, redraw, p_interest, connected, existing
        )
    else:
        interested = connected & (
            streams.uniform("prospect_interest", rep, day, j) < p_interest(day, acc, slice(None))
        )
        creates = _claim(existing, acc, time, interested, cfg.lead_cooldown_days)
    contact = contact_of(company, acc, streams.uniform("prospect_contact", rep, day, j))
    out = {k: v[creates] for k, v in (("account", acc), ("day", day), ("time", time), ("rep", rep),
                                      ("method", method), ("contact", contact))}  # fmt: skip
    outcome = np.where(creates, "interested", np.where(interested, "already engaged",
                                                       np.where(connected, "not interested", "no answer")))  # fmt: skip
    kind = np.asarray(PROSPECTING_KIND, dtype=object)[method]
    u_note = streams.uniform("prospect_note", rep, day, j)
    pos = np.asarray(POSITIVE_NOTES, dtype=object)[(u_note * len(POSITIVE_NOTES)).astype(int)]
    neg = np.asarray(NEGATIVE_NOTES, dtype=object)[(u_note * len(NEGATIVE_NOTES)).astype(int)]
    notes = np.where(outcome == "interested", pos, np.where(outcome == "not interested", neg, ""))
    dur = np.where(connected, 240 + 600 * streams.uniform("prospect_dur", rep, day, j), 40.0)
    dur = np.where(kind == "email", 180.0, np.where(kind == "social", 90.0, dur))
    add_activities(time=time, rep=rep, contact=contact, account=acc, kind=kind, direction="outbound",
                   outcome=outcome, duration=np.round(dur), prospecting=np.asarray(PROSPECTING, dtype=object)[method],
                   notes=notes, lead=np.where(creates, -2, -1))  # fmt: skip
    return out
