"""The replayed sales queue: calibration to the observed never-contacted share, displacement only when it binds."""

from __future__ import annotations

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


def test_too_few_queued_leads_are_rejected():
    with pytest.raises(ValueError, match="queued leads"):
        SalesQueue().fit(queued_leads(per_day=1.0, capacity=1.0, seed=4).head(5))
