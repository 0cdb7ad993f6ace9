"""Sales: partner and SDR-sourced leads, the qualification queue, opportunities, deals won or lost.

All lead-level randomness is keyed by the lead's identity (account, day, source), so a lead that
exists in two scenarios meets the same dice in both.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from fairshare.simulate.commits import rep_forecasts
from fairshare.simulate.company import Company, _sigmoid
from fairshare.simulate.config import SimulationConfig
from fairshare.simulate.marketing import Marketing
from fairshare.simulate.notes import deal_notes, draw_deal_themes, rep_traits
from fairshare.simulate.outbound import (
    NEGATIVE_NOTES,
    POSITIVE_NOTES,
    WORK_HOURS,
    WORK_START,
    business_slots,
    contact_of,
    prospecting,
)  # fmt: skip
from fairshare.simulate.scenarios import Scenario
from fairshare.simulate.shocks import deal_size_factor, poor_fit_leads, queue_slots, win_logit_drop
from fairshare.simulate.streams import Streams

SRC_MARKETING, SRC_SDR, SRC_PARTNER, SRC_ARRIVAL = 0, 1, 2, 3
#: source_team per source; unassisted arrivals (organic_arrival_share) are "other": no team raised them
SOURCE_TEAM = ("marketing", "sdr", "partner", "other")
REJECT_REASONS = ("not a fit", "no budget", "wrong contact")
DEAL_POSITIVE = ("strong champion", "budget confirmed", "legal review started", "timeline agreed",
                 "exec sponsor engaged")  # fmt: skip
DEAL_NEGATIVE = ("pricing concern", "competitor in the deal", "stakeholder went quiet",
                 "no decision maker involved", "asked for a big discount")  # fmt: skip
STAGE_KIND = ("meeting", "demo", "email", "call")
STAGE_DURATION_S = (2700.0, 3600.0, 600.0, 1800.0)
STAGE_NOTE = ("discovery call", "product demo", "sent proposal", "negotiation call")


def _erlang2(u1: np.ndarray, u2: np.ndarray, mean: float | np.ndarray) -> np.ndarray:
    """Gamma(shape 2) draws with the given mean from two uniforms."""
    return -np.log(u1 * u2) * (np.asarray(mean) / 2.0)


def _work_queues_by_rank(
    queues: list[np.ndarray],
    arrival: np.ndarray,
    rank: np.ndarray,
    slots: np.ndarray,
    max_wait_days: int,
    u_first: np.ndarray,
    first: np.ndarray,
) -> None:
    """The qualification queues: fill `first` in place.

    On every business day d each rep h takes up to `slots[h, d]` of its waiting leads with the smallest
    (rank, arrival, index): leads that arrived before the end of the work day and have not waited
    longer than `max_wait_days` (older ones are skipped: dropped). `queues[h]` is sorted by arrival.
    """
    arr, rk, uf = arrival.tolist(), rank.tolist(), u_first.tolist()
    qs = [q.tolist() for q in queues]
    ptr = [0] * len(qs)
    heaps: list[list[tuple[float, float, int]]] = [[] for _ in qs]
    per_rep = slots.tolist()
    for d in np.flatnonzero(slots.any(axis=0)).tolist():
        end, oldest = d + WORK_START + WORK_HOURS, d - max_wait_days
        for h, q in enumerate(qs):
            k = per_rep[h][d]
            heap, p = heaps[h], ptr[h]
            while p < len(q) and arr[q[p]] < end:
                i = q[p]
                heapq.heappush(heap, (rk[i], arr[i], i))
                p += 1
            ptr[h] = p
            taken = 0
            while taken < k and heap:
                _, a, i = heapq.heappop(heap)
                if a < oldest:  # waited too long: dropped
                    continue
                first[i] = max(d + WORK_START + WORK_HOURS * uf[i], a + (0.5 + 2 * uf[i]) / 24)
                taken += 1


def _route_to_active(active: np.ndarray, day: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A rep drawn uniformly among those at work on `day` (`active`: reps × days; anyone if nobody works)."""
    at_work = active[:, day]  # reps × leads
    n_at = at_work.sum(axis=0)
    pick = np.floor(u * np.where(n_at > 0, n_at, active.shape[0])).astype(np.int64)
    rank = np.cumsum(at_work, axis=0) - 1  # position of each working rep among the working ones
    chosen = np.argmax(at_work & (rank == pick[None, :]), axis=0)
    return np.where(n_at > 0, chosen, pick)


@dataclass
class Activities:
    """Sales activity rows (times in days since the start); -1 / "" mean empty."""

    parts: list[dict[str, np.ndarray]] = field(default_factory=list)

    def add(self, **cols: np.ndarray) -> None:
        size = len(cols["time"])
        if size:
            self.parts.append({k: np.broadcast_to(np.asarray(v), (size,)) for k, v in cols.items()})

    def columns(self) -> dict[str, np.ndarray]:
        names = ("time", "rep", "contact", "lead", "account", "opp", "kind", "direction", "outcome", "duration",
                 "prospecting", "notes")  # fmt: skip
        out = {}
        for k in names:
            vals = [p[k] for p in self.parts if k in p]
            if k in ("time", "duration"):
                out[k] = np.concatenate(vals) if vals else np.zeros(0)
            elif k in ("rep", "contact", "lead", "account", "opp"):
                out[k] = (np.concatenate([p.get(k, np.full(len(p["time"]), -1)) for p in self.parts])
                          if self.parts else np.zeros(0, dtype=np.int64))  # fmt: skip
            else:
                out[k] = (np.concatenate([p.get(k, np.full(len(p["time"]), "", dtype=object)).astype(object)
                                          for p in self.parts]) if self.parts else np.zeros(0, dtype=object))  # fmt: skip
        return out


@dataclass
class Sales:
    """Leads, their handling, opportunities and activities of one scenario."""

    lead: dict[str, np.ndarray]
    opp: dict[str, np.ndarray]
    activities: dict[str, np.ndarray]
    treated: np.ndarray  # per AE, in this scenario
    forecasts: list[tuple[int, str, float, float, str]]
    notes: dict[str, dict] | None = None  # deal notes' truth rows and rep traits (cfg.notes.enabled)


def _partner_leads(cfg: SimulationConfig, company: Company, streams: Streams) -> dict[str, np.ndarray]:
    rng = streams.generator("partners")
    k = int(rng.poisson(cfg.partner_leads * cfg.scale))
    w = np.exp(company.fit_observed)
    acc = rng.choice(company.n, size=k, p=w / w.sum())
    day = rng.integers(0, cfg.days, k)
    time = day + WORK_START + WORK_HOURS * rng.random(k)
    _, first = np.unique(acc * 100_000 + day, return_index=True)
    first = np.sort(first)
    return {"account": acc[first], "day": day[first], "time": time[first]}


def run_sales(
    cfg: SimulationConfig, company: Company, streams: Streams, scenario: Scenario, mk: Marketing
) -> Sales:
    """Everything from lead creation to closed deals for `scenario`."""
    days, n_sdr, n_ae = cfg.days, company.n_sdr, company.n_ae
    horizon = float(days)
    acts = Activities()
    interest = mk.interest

    # ---- leads: marketing (from mk), partner, SDR outbound ------------------------------------------------
    partner = _partner_leads(cfg, company, streams)
    existing: dict[int, list[float]] = {}
    for a, t in zip(np.concatenate([mk.lead_account, partner["account"], mk.arrival["account"]]).tolist(),
                    np.concatenate([mk.lead_time, partner["time"], mk.arrival["time"]]).tolist(), strict=True):  # fmt: skip
        existing.setdefault(a, []).append(t)
    sdr_leads = prospecting(cfg, company, streams, scenario, interest, existing, acts.add)
    # all leads in one registry
    n_m, n_s, n_p = mk.lead_account.size, len(sdr_leads["account"]), partner["account"].size
    arr = mk.arrival  # unassisted inbound leads (hand-raisers: MQLs), after the others
    n_o = arr["account"].size
    src = np.concatenate([np.full(n_m, SRC_MARKETING), np.full(n_s, SRC_SDR), np.full(n_p, SRC_PARTNER),
                          np.full(n_o, SRC_ARRIVAL)])  # fmt: skip
    L = {
        "account": np.concatenate(
            [mk.lead_account, sdr_leads["account"], partner["account"], arr["account"]]
        ).astype(np.int64),
        "day": np.concatenate([mk.lead_day, sdr_leads["day"], partner["day"], arr["day"]]).astype(np.int64),
        "created": np.concatenate([mk.lead_time, sdr_leads["time"], partner["time"], arr["time"]]).astype(
            float
        ),
        "src": src,
        "channel": np.concatenate([mk.lead_channel, np.full(n_s + n_p, -1), arr["channel"]]).astype(np.int64),
        "campaign": np.concatenate([mk.lead_campaign, np.full(n_s + n_p + n_o, -1)]),
        "is_mql": np.concatenate([mk.lead_is_mql, np.zeros(n_s + n_p, dtype=bool), np.ones(n_o, dtype=bool)]),
        "method": np.concatenate(
            [np.full(n_m, -1), np.asarray(sdr_leads["method"], dtype=np.int64), np.full(n_p + n_o, -1)]
        ),  # fmt: skip
    }
    nL = src.size
    # lead dice are keyed by (account, n-th lead of that source for the account, source): a lead whose
    # day moves in a replay (e.g. interest rose a bit later) keeps its dice
    # an unassisted arrival shares the dice of the marketing lead it stands in for (inbound: one sequence)
    dice_src = np.where(src == SRC_ARRIVAL, SRC_MARKETING, src)
    by_account = np.lexsort((L["created"], dice_src, L["account"]))
    group = L["account"][by_account] * 4 + dice_src[by_account]
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1] if nL else np.zeros(0, dtype=np.int64)
    rank = (
        np.arange(nL) - np.repeat(starts, np.diff(np.r_[starts, nL])) if nL else np.zeros(0, dtype=np.int64)
    )
    ordinal = np.empty(nL, dtype=np.int64)
    ordinal[by_account] = rank
    key = (L["account"], ordinal, dice_src)

    def u(name: str, slot: int = 0) -> np.ndarray:
        return streams.uniform(name, *key, slot=slot)

    partner_contact = contact_of(company, L["account"], u("lead_contact"))
    L["contact"] = np.concatenate([mk.lead_contact, np.asarray(sdr_leads["contact"], dtype=np.int64),
                                   partner_contact[n_m + n_s : n_m + n_s + n_p], arr["contact"]]).astype(np.int64)  # fmt: skip
    L["mql"] = np.where(L["is_mql"], L["created"] + 0.005 + 0.02 * u("mql_delay"), np.nan)
    poor_fit_leads(cfg, company, streams, scenario, L, (src == SRC_MARKETING) | (src == SRC_ARRIVAL), key)
    if acts.parts and n_s:  # link the prospecting activity that created each SDR lead
        last = acts.parts[-1]
        lead_col = last["lead"].copy()
        lead_col[lead_col == -2] = n_m + np.arange(n_s)
        last["lead"] = lead_col
    acc_of = L["account"]
    need_at_creation = company.need(L["day"], acc_of)
    interest_at_creation = interest[np.minimum(L["day"], days - 1), acc_of].astype(float)

    # ---- qualification queue: MQLs and partner leads wait for an SDR (or an AE when SDRs are off) ----------
    # each rep takes its waiting leads in cfg.queue_discipline order (fifo / lifo / priority)
    first = np.full(nL, np.nan)
    handler = np.full(nL, -1, dtype=np.int64)
    queued = (L["src"] == SRC_PARTNER) | L["is_mql"]
    if scenario.queue_without:  # these leads exist but are never worked (the queue-only counterfactual)
        codes = [cfg.all_channels.index(c) for c in scenario.queue_without]
        queued &= ~((L["src"] == SRC_MARKETING) & np.isin(L["channel"], codes))
    arrival = np.where(L["is_mql"], L["mql"], L["created"])
    expired = np.zeros(nL, dtype=bool)
    if scenario.sdr:
        n_h, base, rate = n_sdr, 0, cfg.sdr_leads_per_day
    else:
        n_h, base, rate = n_ae, n_sdr, cfg.ae_qualify_per_day
    route = np.floor(u("route") * n_h).astype(np.int64)
    slots = np.broadcast_to(business_slots(company.business_day, rate * scenario.capacity), (n_h, days))
    slots = queue_slots(cfg, company, scenario, slots, rate * scenario.capacity)
    if scenario.sdr and cfg.sdr_capacity_changes.enabled:  # route to SDRs at work; none works on days off
        route = _route_to_active(
            company.sdr_active, np.minimum(arrival, days - 1).astype(np.int64), u("route")
        )
        slots = slots * company.sdr_active
    elif cfg.queue_discipline == "round_robin":  # dealt in turn by arrival instead of at random
        turn = np.flatnonzero(queued)[np.argsort(arrival[queued], kind="stable")]
        route[turn] = np.arange(turn.size) % n_h
    handler[queued] = base + route[queued]
    u_first = u("first_time")
    queues = [np.flatnonzero(queued & (route == h)) for h in range(n_h)]
    queues = [q[np.argsort(arrival[q], kind="stable")] for q in queues]
    # fifo: oldest first; lifo: newest first; priority: highest observed fit first (what lead scoring on
    # firmographics sees)
    value = cfg.win_fit * company.fit_observed[acc_of] + cfg.amount_size_elasticity * np.log(
        company.employees[acc_of]
    )
    rank = {"fifo": arrival, "lifo": -arrival, "priority": -company.fit_observed[L["account"]], "value": -value,
            "round_robin": arrival}[cfg.queue_discipline]  # fmt: skip
    _work_queues_by_rank(queues, arrival, rank, slots, cfg.max_wait_days, u_first, first)
    work_days = np.flatnonzero(slots.any(axis=0))
    if work_days.size:  # never taken and too old on the last business day: dropped
        expired = queued & np.isnan(first) & (arrival < work_days[-1] - cfg.max_wait_days)
    # SDR-sourced leads: first contact is the prospecting conversation itself
    is_sdr = L["src"] == SRC_SDR
    first[is_sdr] = L["created"][is_sdr]
    handler[is_sdr] = np.asarray(sdr_leads["rep"], dtype=np.int64) if n_s else handler[is_sdr]
    first[first > horizon] = np.nan

    # ---- contact attempts ------------------------------------------------------------------------------------
    A = cfg.contact_attempts
    gaps = np.stack([np.zeros(nL)] + [1 + np.floor(3 * u("gap", j)) for j in range(1, A)], axis=1)
    t_att = first[:, None] + np.cumsum(gaps, axis=1)
    rate_h = np.where(handler >= 0, company.rep_contact_rate[np.maximum(handler, 0)], 0.0)
    wait_h = (t_att - L["created"][:, None]) * 24
    p_att = rate_h[:, None] * np.exp(-wait_h / cfg.speed_decay_hours)
    hit = np.stack([u("attempt", j) for j in range(A)], axis=1) < p_att
    hit &= t_att <= horizon
    conn_j = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
    conn_j[is_sdr] = 0
    connected_at = np.where(
        conn_j >= 0, np.take_along_axis(t_att, np.maximum(conn_j, 0)[:, None], 1)[:, 0], np.nan
    )
    connected_at[is_sdr] = L["created"][is_sdr]
    p_connect = np.where(
        np.isnan(first), 0.0, 1 - np.prod(1 - np.where(t_att <= horizon, p_att, 0.0), axis=1)
    )
    p_connect[is_sdr] = 1.0
    worked = ~np.isnan(first) & ~is_sdr
    n_att = np.where(conn_j >= 0, conn_j + 1, np.where(worked, (t_att <= horizon).sum(axis=1), 0))
    n_att[is_sdr] = 0
    for j in range(A):
        rows = np.flatnonzero(n_att > j)
        if not rows.size:
            continue
        ok = conn_j[rows] == j
        kind = np.where(j % 2 == 0, "call", "email")
        note_pos = np.asarray(POSITIVE_NOTES, dtype=object)[(u("note")[rows] * 5).astype(int)]
        note_neg = np.asarray(NEGATIVE_NOTES, dtype=object)[(u("note")[rows] * 5).astype(int)]
        positive = u("note_sign")[rows] < 0.2 + 0.6 * need_at_creation[rows]
        acts.add(time=t_att[rows, j], rep=handler[rows], contact=L["contact"][rows], lead=rows,
                 account=acc_of[rows], kind=np.full(rows.size, kind, dtype=object), direction="outbound",
                 outcome=np.where(ok, "connected", "no answer" if kind == "call" else "no reply"),
                 duration=np.where(ok, np.round(300 + 900 * u("att_dur", j)[rows]), 45.0 if kind == "call" else 120.0),
                 notes=np.where(ok, np.where(positive, note_pos, note_neg), "left voicemail" if kind == "call" else ""))  # fmt: skip

    # ---- decision (SAL / rejected) and SQL --------------------------------------------------------------------
    p_accept = np.where(
        is_sdr, 1.0, _sigmoid(cfg.accept_intercept + cfg.accept_fit * company.fit_observed[acc_of])
    )
    conn = ~np.isnan(connected_at)
    accepted = conn & (u("accept") < p_accept)
    decision_at = np.where(conn, connected_at + 0.002, np.nan)
    decision_at[is_sdr] = L["created"][is_sdr] + 0.0005
    gave_up = worked & ~conn & ((t_att <= horizon).sum(axis=1) == A)
    last_att = t_att[:, -1] + 1.0
    decision_at = np.where(gave_up & (last_att <= horizon), last_att, decision_at)
    reason = np.full(nL, "", dtype=object)
    reason[conn & ~accepted] = np.asarray(REJECT_REASONS, dtype=object)[(u("reason") * 3).astype(int)][
        conn & ~accepted
    ]
    reason[gave_up & (last_att <= horizon)] = "no response"
    conn_day = np.minimum(np.nan_to_num(connected_at, nan=0).astype(np.int64), days - 1)
    need_conn = company.need(conn_day, acc_of)
    int_conn = interest[conn_day, acc_of].astype(float)
    qual_skill = company.rep_skill[np.maximum(handler, 0)]
    p_sql = _sigmoid(cfg.sql_intercept + cfg.sql_need * need_conn + cfg.sql_interest * int_conn
                     + cfg.sql_fit * company.fit[acc_of] + cfg.sql_skill * qual_skill)  # fmt: skip
    sql = accepted & (u("sql") < p_sql)
    sql_at = np.where(sql, connected_at + _erlang2(u("sql_t1"), u("sql_t2"), 3.0), np.nan)
    sql_at[sql_at > horizon] = np.nan
    sql = ~np.isnan(sql_at)

    # ---- opportunities -----------------------------------------------------------------------------------------
    treated_ae = {"assigned": company.ae_treated, "none": np.zeros(n_ae, bool), "all": np.ones(n_ae, bool)}[
        scenario.experiment
    ]
    if not cfg.experiment:
        treated_ae = np.zeros(n_ae, bool)
    amount_raw = (
        cfg.amount_base
        * (company.employees[acc_of] / 100.0) ** cfg.amount_size_elasticity
        * np.exp(cfg.amount_noise * streams.normal("amount", *key) - cfg.amount_noise**2 / 2)
    )
    amount_raw = amount_raw * deal_size_factor(cfg, scenario, sql_at)
    speed_days = np.where(np.isnan(first), np.nan, first - L["created"])
    ae = np.where(handler >= n_sdr, handler - n_sdr, np.floor(u("route_ae") * n_ae).astype(np.int64))
    sql_day = np.minimum(np.nan_to_num(sql_at, nan=0).astype(np.int64), days - 1)
    need_sql = company.need(sql_day, acc_of)
    int_sql = interest[sql_day, acc_of].astype(float)
    logit_base = (cfg.win_intercept + cfg.win_fit * company.fit[acc_of] + cfg.win_need * need_sql
                  + cfg.win_interest * int_sql - cfg.win_speed * np.log1p(np.nan_to_num(speed_days, nan=0.0)))  # fmt: skip
    logit_base = logit_base - win_logit_drop(cfg, scenario, sql_at)
    disc = np.full(nL, np.nan)
    if scenario.ae:
        amount = np.round(amount_raw, -2)
        slots_ae = business_slots(company.business_day, cfg.ae_new_opportunities_per_day * scenario.capacity)
        u_disc = u("disc_time")
        for h in range(n_ae):
            q = np.flatnonzero(sql & (ae == h))
            q = q[np.argsort(sql_at[q], kind="stable")]
            p = 0
            for d in range(days):
                k = int(slots_ae[d])
                while k > 0 and p < q.size and sql_at[q[p]] < d + WORK_START + WORK_HOURS:
                    i = q[p]
                    disc[i] = max(d + WORK_START + WORK_HOURS * u_disc[i], sql_at[i] + 0.05)
                    p += 1
                    k -= 1
                if p >= q.size:
                    break
        disc[disc > horizon] = np.nan
        ae_wait = np.where(
            np.isnan(disc), np.maximum(horizon - np.nan_to_num(sql_at, nan=horizon), 0), disc - sql_at
        )
        logit_exp = logit_base + cfg.win_skill * company.rep_skill[n_sdr + ae] - cfg.win_ae_wait * ae_wait / 7
        logit_prompt = logit_base + cfg.win_skill * company.rep_skill[n_sdr + ae]
        if cfg.notes.enabled:  # deal themes (objections, champions) move the win logit
            deal = draw_deal_themes(cfg, company, streams, key, n_sdr + ae)
            logit_exp, logit_prompt = logit_exp + deal.shift, logit_prompt + deal.shift
        effect = cfg.experiment_effect * treated_ae[ae] if cfg.experiment else 0.0
        p_win = _sigmoid(logit_exp + effect)
        p_win_prompt = _sigmoid(logit_prompt + effect)
        p_win_untreated = _sigmoid(logit_exp)
        p_win_treated = _sigmoid(logit_exp + cfg.experiment_effect)
        owner = n_sdr + ae
    else:
        amount = np.round(amount_raw * cfg.self_serve_amount_factor, -2)
        p_win = cfg.self_serve_win_factor * _sigmoid(logit_base)
        p_win_prompt = p_win_untreated = p_win_treated = p_win
        owner = np.full(nL, -1)
    won = u("win") < p_win
    stage_share = np.asarray(cfg.lost_after_stage) / sum(cfg.lost_after_stage)
    lost_stage = np.minimum(np.searchsorted(np.cumsum(stage_share), u("lost_stage")), 3)
    if cfg.notes.enabled and scenario.ae:  # an objection left open: lost after the demo
        lost_stage = np.where(deal.stalls, np.minimum(lost_stage, 1), lost_stage)
    last_stage = np.where(won, 3, lost_stage)
    enter = np.full((nL, 5), np.nan)  # discovery, demo, proposal, negotiation, closed
    if scenario.ae:
        enter[:, 0] = sql_at
        t = disc.copy()
        for s in range(4):
            dur = _erlang2(u("stage", 2 * s), u("stage", 2 * s + 1), cfg.stage_days[s])
            if s > 0:
                enter[:, s] = np.where(last_stage >= s, t, np.nan)
            t = np.where(last_stage >= s, t + dur, t)
        enter[:, 4] = np.where(np.isnan(disc), np.nan, t)
    else:
        enter[:, 0] = sql_at
        enter[:, 4] = sql_at + _erlang2(u("stage", 0), u("stage", 1), 10.0)
    enter[~sql] = np.nan
    enter[enter > horizon] = np.nan
    closed = ~np.isnan(enter[:, 4])
    # AE activities, one per reached stage
    if scenario.ae:
        opp_rows = np.flatnonzero(sql)
        positive = u("deal_note_sign") < p_win
        pos = np.asarray(DEAL_POSITIVE, dtype=object)[(u("deal_note") * 5).astype(int)]
        neg = np.asarray(DEAL_NEGATIVE, dtype=object)[(u("deal_note") * 5).astype(int)]
        for s in range(4):
            t_s = disc if s == 0 else enter[:, s]
            rows = opp_rows[~np.isnan(t_s[opp_rows])]
            if not rows.size:
                continue
            at = t_s[rows] + (0.0 if s == 0 else WORK_START / 2)
            note = np.asarray([f"{STAGE_NOTE[s]}: " + x for x in np.where(positive[rows], pos[rows], neg[rows])],
                              dtype=object)  # fmt: skip
            note = np.full(rows.size, "", dtype=object) if cfg.notes.enabled else note  # notes.py writes them
            acts.add(time=at, rep=owner[rows], contact=L["contact"][rows], account=acc_of[rows], opp=rows,
                     lead=rows, kind=np.full(rows.size, STAGE_KIND[s], dtype=object),
                     direction="outbound", outcome="held" if s < 2 else "sent" if s == 2 else "connected",
                     duration=STAGE_DURATION_S[s], notes=note)  # fmt: skip

    notes = None
    if cfg.notes.enabled and scenario.ae:
        deal_rows = {"opp": sql, "disc": disc, "enter": enter, "won": won, "owner": owner, "contact": L["contact"],
                     "account": acc_of, "horizon": horizon}  # fmt: skip
        notes = {
            "rows": deal_notes(cfg, company, streams, key, deal, deal_rows, acts.add),
            "traits": rep_traits(cfg, company, streams),
        }
    p_opp = p_connect * p_accept * p_sql
    lead = dict(L)
    lead.update(
        first=first, handler=handler, expired=expired, queued=queued, arrival=arrival, connected_at=connected_at,
        decision_at=decision_at, accepted=accepted & (decision_at <= horizon), reason=reason, sql_at=sql_at,
        sql=sql, need=need_at_creation, interest=interest_at_creation, p_connect=p_connect, p_accept=p_accept,
        p_sql=p_sql, p_opp=p_opp, p_win_given_opp=p_win, p_win_prompt=p_win_prompt, amount=amount,
        speed_days=speed_days,
    )  # fmt: skip
    opp = {
        "is_opp": sql, "owner": owner if scenario.ae else np.full(nL, -1), "enter": enter, "closed": closed,
        "won": won & closed, "last_stage": last_stage, "p_win": p_win, "amount": amount, "disc": disc,
        "p_win_untreated": p_win_untreated, "p_win_treated": p_win_treated,
        "treated": (treated_ae[ae] if scenario.ae else np.zeros(nL, bool)),
    }  # fmt: skip
    forecasts = rep_forecasts(cfg, company, streams, opp, owner, key)
    return Sales(
        lead=lead, opp=opp, activities=acts.columns(), treated=treated_ae, forecasts=forecasts, notes=notes
    )
