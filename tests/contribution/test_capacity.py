"""The replayed sales queue: calibration to the observed never-contacted share, displacement only when it binds,
and the queue discipline (fifo, lifo, priority) chosen from the data, checked against simulated companies."""

from __future__ import annotations

import heapq

import numpy as np
import pandas as pd
import pytest

from fairshare.contribution.capacity import SalesQueue


def queued_leads(per_day: float, capacity: float, seed: int, days: int = 200, reps: int = 4) -> pd.DataFrame:
    """Leads arriving at random, worked FIFO by `reps` reps at `capacity` per business day, dropped after 5 days."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(per_day * days)
    start = pd.Timestamp("2025-01-06")  # a Monday
    arrival = np.sort(rng.uniform(0, days, n))
    rep = rng.integers(reps, size=n)
    contacted, hours = np.zeros(n, bool), np.full(n, np.nan)
    for r in range(reps):
        idx = np.flatnonzero(rep == r)
        head, budget = 0, 0.0
        for day in range(days + 10):
            if (start + pd.Timedelta(days=day)).day_of_week >= 5:
                continue
            now = day + 9 / 24
            budget = min(budget + capacity, capacity + 1)
            while head < len(idx) and arrival[idx[head]] <= now and budget >= 1:
                if now - arrival[idx[head]] <= 5:
                    contacted[idx[head]], hours[idx[head]] = True, (now - arrival[idx[head]]) * 24
                    budget -= 1
                head += 1
            while head < len(idx) and now - arrival[idx[head]] > 5:
                head += 1
    return pd.DataFrame({
        "lead_id": [f"L{i}" for i in range(n)], "account_id": [f"A{i % 300}" for i in range(n)],
        "created_at": start + pd.to_timedelta(arrival, unit="D"), "queued": True, "contacted": contacted,
        "hours_to_first_contact": hours, "first_rep_id": np.where(contacted, [f"R{r}" for r in rep], None),
        "source_team": "marketing",
    })  # fmt: skip


def test_calibrated_capacity_reproduces_the_observed_queue():
    leads = queued_leads(per_day=4.0, capacity=0.6, seed=1)
    q = SalesQueue(random_state=0).fit(leads)
    assert q.never_contacted_share_ > 0.2  # 4 leads a day, 4 reps x 0.6 a business day: the queue binds
    assert q.replayed_share_ == pytest.approx(q.never_contacted_share_, abs=0.03)
    assert q.capacity_ == pytest.approx(0.6, rel=0.15)
    assert q.n_reps_ == 4 and 4 <= q.max_wait_days_ <= 5.5


def test_displacement_is_positive_when_the_queue_binds_and_vanishes_when_it_does_not():
    bound = SalesQueue(random_state=0).fit(queued_leads(per_day=4.0, capacity=0.6, seed=2))
    candidates = np.asarray(bound.leads_.index % 2 == 0)
    d = bound.displacement(candidates, 0.5, contact_value=5000.0, speed_effect=-500.0)
    assert d["newly_contacted"] > 20 and d["log_hours_saved"] > 0 and d["displacement"] > 100_000
    more = bound.displacement(candidates, 1.0, contact_value=5000.0, speed_effect=-500.0)
    assert more["displacement"] > d["displacement"]
    ample = SalesQueue(random_state=0).fit(queued_leads(per_day=1.0, capacity=3.0, seed=3))
    assert ample.never_contacted_share_ == 0
    a = ample.displacement(
        np.asarray(ample.leads_.index % 2 == 0), 0.5, contact_value=5000.0, speed_effect=-500.0
    )
    assert a["newly_contacted"] == 0 and a["displacement"] == pytest.approx(0.0, abs=1.0)


def test_newly_contacted_leads_are_valued_at_their_own_contact_effect():
    leads = queued_leads(per_day=4.0, capacity=0.6, seed=4)
    candidates = np.asarray(leads.index % 2 == 0)
    average = SalesQueue(random_state=5).fit(leads).displacement(candidates, 1.0, 5000.0, 0.0)
    flat = (
        SalesQueue(random_state=5).fit(leads).displacement(candidates, 1.0, np.full(len(leads), 5000.0), 0.0)
    )
    assert flat == pytest.approx(average)  # one number or the same number per lead: the same displacement
    assert average["contact_value_gained"] == pytest.approx(5000.0 * average["newly_contacted"])
    # the leads a freed queue picks up are worth 1,000 when they were dropped before, 9,000 otherwise
    queue = SalesQueue(random_state=5).fit(leads)
    per_lead = np.where(queue.contacted_, 9000.0, 1000.0)
    own = queue.displacement(candidates, 1.0, per_lead, 0.0)
    assert own["contact_value_gained"] == pytest.approx(1000.0 * own["newly_contacted"])


def test_too_few_queued_leads_are_rejected():
    with pytest.raises(ValueError, match="queued leads"):
        SalesQueue().fit(queued_leads(per_day=1.0, capacity=1.0, seed=4).head(5))


# ---- queue discipline: replays of simulated companies that route fifo, lifo or by priority -----------------

DISCIPLINES = ("fifo", "lifo", "priority")
SEEDS = (1, 2)
#: 800 accounts (2 SDRs, ~400 queued leads), few SDR slots: the queue binds (~47% of queued leads never contacted)
SMALL = {"accounts": 800, "sdr_leads_per_day": 0.45}
CHANNEL = "paid_search"


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> dict[tuple[str, int], dict]:
    from fairshare import Workspace
    from fairshare.contribution.exposures import lead_exposures
    from fairshare.simulate import SimulationConfig, simulate_with_truth

    out = {}
    for qd in DISCIPLINES:
        for seed in SEEDS:
            cfg = SimulationConfig(**SMALL, queue_discipline=qd)
            scenarios = (f"channel_off:{CHANNEL}",)
            world = simulate_with_truth(cfg, seed=seed, scenarios=scenarios, keep_replays=True)
            root = tmp_path_factory.mktemp(f"queue_{qd}{seed}")
            world.write(root / "company", format="parquet")
            ws = Workspace.init(root / "ws")
            ws.import_(root / "company")
            leads = lead_exposures(ws)
            ws.close()
            out[qd, seed] = {"world": world, "leads": leads, "queue": SalesQueue(random_state=0).fit(leads)}
    return out


def simulator_queue(world, removed: set[str] | frozenset[str] = frozenset()) -> dict[str, float]:
    """The simulator's own queue rule (docs/simulator.md step 9) rerun on the factual queued leads minus `removed`.

    Same arrivals, routing (assigned_rep_id), slots, drop rule and ranking (arrival, or the account's true
    observed fit) as the simulator, nothing else changes: the exact counterfactual the displacement estimates.
    Returns {lead_id: hours from creation to the middle of the work day the lead is taken} of contacted leads.
    """
    cfg, ev = world.config, world.truth["events"]
    q = ev[ev.queued & ~ev.lead_id.isin(removed)]
    start = pd.Timestamp(cfg.start, tz="UTC")
    created = ((q.created_at - start).dt.total_seconds() / 86400).to_numpy()
    arrival = ((q.mql_at.fillna(q.created_at) - start).dt.total_seconds() / 86400).to_numpy()
    fit = q.account_id.map(world.truth["accounts"].set_index("account_id").fit_observed).to_numpy()
    rank = {"fifo": arrival, "lifo": -arrival, "priority": -fit}[cfg.queue_discipline]
    business = (start + pd.to_timedelta(np.arange(cfg.days), unit="D")).day_of_week < 5
    b = np.cumsum(business)
    rate = cfg.sdr_leads_per_day
    slots = np.where(business, np.floor(b * rate + 1e-9) - np.floor((b - 1) * rate + 1e-9), 0).astype(int)
    ids, out = q.lead_id.to_numpy(), {}
    for rep in q.assigned_rep_id.unique():
        idx = np.flatnonzero((q.assigned_rep_id == rep).to_numpy())
        idx = idx[np.argsort(arrival[idx], kind="stable")].tolist()
        heap, p = [], 0
        for d in np.flatnonzero(slots).tolist():
            while p < len(idx) and arrival[idx[p]] < d + 17 / 24:
                heapq.heappush(heap, (rank[idx[p]], arrival[idx[p]], idx[p]))
                p += 1
            taken = 0
            while taken < slots[d] and heap:
                _, a, i = heapq.heappop(heap)
                if a >= d - cfg.max_wait_days:
                    out[ids[i]] = (max(d + 13 / 24, a + 1.5 / 24) - created[i]) * 24
                    taken += 1
    return out


def test_auto_replays_the_discipline_the_company_used(worlds):
    # Measured (seeds 1-8 and 3,000-account default worlds of each discipline, 27 worlds): right every
    # time; the chosen score is 0.02-0.12, every other candidate's at least 0.20.
    for (qd, seed), w in worlds.items():
        queue = w["queue"]
        assert queue.discipline_ == qd, (qd, seed, queue.discipline_scores_)
        assert set(queue.discipline_scores_) == set(DISCIPLINES)
        others = [v for k, v in queue.discipline_scores_.items() if k != qd]
        assert queue.discipline_scores_[qd] < 0.5 * min(others), (qd, seed, queue.discipline_scores_)
        assert queue.description_.startswith(f"{qd} queue replay chosen")
        assert list(queue.discipline_table_["discipline"]) == list(DISCIPLINES)


def _median_wait(queue: SalesQueue) -> tuple[float, float]:
    """Median hours to first contact of the judged contacted leads: observed, replayed."""
    judged, leads = queue.judged_, queue.leads_
    observed = leads["hours_to_first_contact"].to_numpy(float)[judged & leads["contacted"].to_numpy()]
    return float(np.median(observed)), float(np.median(queue.hours_[judged & queue.contacted_]))


def test_calibrated_replay_reproduces_the_observed_share_and_median_wait(worlds):
    # Measured (seeds 1, 2; never contacted observed / replayed, median hours observed / replayed):
    # fifo 46.9/47.1%, 94/96 h and 46.6/46.3%, 94/90 h; lifo 49.9/50.1%, 22/21 h and 49.2/49.2%, 22/20 h;
    # priority 48.9/49.1%, 41/41 h and 48.7/48.7%, 46/45 h.
    for (qd, seed), w in worlds.items():
        queue = w["queue"]
        assert queue.never_contacted_share_ > 0.3  # the queue binds
        assert queue.replayed_share_ == pytest.approx(queue.never_contacted_share_, abs=0.02), (qd, seed)
        observed, replayed = _median_wait(queue)
        assert replayed == pytest.approx(observed, rel=0.2), (qd, seed, observed, replayed)
    # teeth: a FIFO replay of a LIFO company reproduces the share (it is calibrated to it) but not the waits
    for seed in SEEDS:
        fifo = SalesQueue(random_state=0, discipline="fifo").fit(worlds["lifo", seed]["leads"])
        assert fifo.replayed_share_ == pytest.approx(fifo.never_contacted_share_, abs=0.02)
        observed, replayed = _median_wait(fifo)
        assert replayed > 2.5 * observed  # measured: 22 h observed, 92 and 87 h replayed
        assert fifo.description_.startswith("fifo queue replay set by the caller")


def test_simulator_queue_oracle_reproduces_the_factual_contacts(worlds):
    for w in worlds.values():
        ev = w["world"].truth["events"]
        factual = set(ev.lead_id[ev.queued & ev.first_contact_at.notna()])
        assert set(simulator_queue(w["world"])) == factual


def _removals(queue: SalesQueue, seed: int) -> list[np.ndarray]:
    """Three random draws of 30% of the queued marketing leads."""
    marketing = queue.leads_["source_team"].eq("marketing").to_numpy()
    draws = [np.random.default_rng(100 * seed + k).random(queue.n_queued_) for k in range(3)]
    return [marketing & (u < 0.3) for u in draws]


def _against_the_simulator(world, queue: SalesQueue, seed: int) -> dict[str, float]:
    """Newly contacted other leads and log-hours saved, summed over three removals: truth and replay."""
    base = simulator_queue(world)
    out = {"true_new": 0.0, "true_saved": 0.0, "new": 0.0, "saved": 0.0}
    for removed in _removals(queue, seed):
        counterfactual = simulator_queue(world, set(queue.leads_["lead_id"][removed]))
        both = set(base) & set(counterfactual)
        out["true_new"] += len(set(counterfactual) - set(base))
        out["true_saved"] += sum(np.log1p(base[i]) - np.log1p(counterfactual[i]) for i in both)
        d = queue.displacement(removed, 1.0, contact_value=1.0, speed_effect=0.0)
        out["new"] += d["newly_contacted"]
        out["saved"] += d["log_hours_saved"]
    return out


def test_displacement_matches_the_simulators_queue_without_30_percent_of_marketing_leads(worlds):
    # Truth: the simulator's queue rule rerun without the removed leads (simulator_queue). Measured for the
    # auto replay over seeds 1-8 (three removals each): newly contacted within 8-11% on average (at most 28%)
    # of the truth for every discipline; log-hours saved within 24-40% on average (at most 67%).
    # Seeds 1, 2 (newly contacted truth / replay; log-hours saved truth / replay):
    # fifo 130/105, 98/96 and 111/116, 105/72; lifo 116/93, 95/102 and 13/8, 18/16;
    # priority 123/89, 114/98 and 20/27, 48/42.
    # Newly contacted hardly depends on the discipline (the wrong replays are off by 8-18% on average; in LIFO
    # companies the priority replay is as close as the LIFO one), so that check alone has no teeth; the waits
    # saved do: a FIFO replay of a LIFO company predicts 3.7-6.6 times the true log-hours saved.
    for (qd, seed), w in worlds.items():
        r = _against_the_simulator(w["world"], w["queue"], seed)
        assert r["new"] == pytest.approx(r["true_new"], rel=0.3), (qd, seed, r)
        assert r["true_saved"] / 2.5 < r["saved"] < 2.5 * r["true_saved"], (qd, seed, r)
    for seed in SEEDS:
        w = worlds["lifo", seed]
        fifo = SalesQueue(random_state=0, discipline="fifo").fit(w["leads"])
        r = _against_the_simulator(w["world"], fifo, seed)
        assert r["saved"] > 2.5 * r["true_saved"], (seed, r)


def test_displacement_against_the_channel_off_replay(worlds):
    # The simulator's channel_off:paid_search replay is no clean truth for the queue alone: switching the
    # channel off also removes ~110-125 other queued leads upstream (accounts it warmed that then convert
    # through other channels) and adds ~50-60 (new leads, and leads created on another day, which get a new
    # id), so the other leads gain more contacts there than from removing the channel's own leads.
    # Measured over seeds 1-8 (other leads present in both worlds newly contacted in the channel_off world /
    # auto replay without the channel's queued leads): fifo 35-44 / 22-37 (replay 24% lower on average),
    # lifo 31-39 / 13-23 (45% lower), priority 35-49 / 21-29 (37% lower). It does not tell the disciplines
    # apart (a FIFO replay of a LIFO company is closer to it, 25% lower), so only the direction and size
    # are asserted.
    for (qd, seed), w in worlds.items():
        queue, replay = w["queue"], w["world"].replays[f"channel_off:{CHANNEL}"]
        q = queue.leads_
        acts = replay["activities"]
        contacted_there = set(acts.lead_id[acts.lead_id.notna()])
        own = q["source_channel"].eq(CHANNEL).to_numpy()
        other = q[~own & q["lead_id"].isin(set(replay["leads"].lead_id))]
        truth = int((~other["contacted"] & other["lead_id"].isin(contacted_there)).sum())
        d = queue.displacement(own, 1.0, contact_value=1.0, speed_effect=0.0)
        assert 0.25 * truth <= d["newly_contacted"] <= truth, (qd, seed, truth, d["newly_contacted"])
