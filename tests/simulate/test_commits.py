"""The simulated reps' weekly commits: made from what a rep knows at the submission, not the outcome."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from fairshare.simulate import SimulationConfig
from fairshare.simulate.commits import rep_forecasts
from fairshare.simulate.outbound import WORK_START
from fairshare.simulate.streams import Streams

Q2 = 90  # 2025-04-01 is day 90 of a world starting 2025-01-01


def _deals(n: int = 60, seed: int = 3) -> tuple[dict, np.ndarray]:
    """Deals of two AEs (reps 1 and 2; rep 0 is an SDR) created over 160 days, half won."""
    rng = np.random.default_rng(seed)
    created = np.sort(rng.uniform(0, 160, n))
    closed = created + rng.uniform(5, 60, n)
    enter = np.full((n, 5), np.nan)
    enter[:, 0], enter[:, 4] = created, closed
    opp = {"is_opp": np.ones(n, bool), "enter": enter, "won": rng.random(n) < 0.5,
           "amount": np.round(rng.uniform(5e3, 5e4, n), -2)}  # fmt: skip
    return opp, 1 + (np.arange(n) % 2)


def _calls(opp: dict, owner: np.ndarray, signal: float = 2.0) -> pd.DataFrame:
    cfg = SimulationConfig(accounts=300, days=184, forecast_deal_signal=signal)
    company = SimpleNamespace(n_sdr=1, n_ae=2, rep_forecast_bias=np.array([1.0, 0.8, 1.25]))
    n = owner.size
    key = (np.arange(n), np.zeros(n, np.int64), np.zeros(n, np.int64))
    rows = rep_forecasts(cfg, company, Streams(5), opp, owner, key)
    return pd.DataFrame(rows, columns=["rep", "period", "day", "amount", "category"])


def _day7(calls: pd.DataFrame) -> pd.Series:
    first = calls[(calls.period == "2025-Q2") & (calls.day < Q2 + 8)]
    return first.set_index(["rep", "category"]).amount


def test_day7_commit_ignores_deals_created_after_it():
    opp, owner = _deals()
    before = _calls(opp, owner)
    later = np.flatnonzero(opp["enter"][:, 0] > Q2 + 8)  # created after the day-7 call
    assert later.size
    changed = {**opp, "won": opp["won"].copy(), "enter": opp["enter"].copy()}
    changed["won"][later] = ~changed["won"][later]
    changed["enter"][later, 4] = Q2 + 10  # and they close inside Q2
    after = _calls(changed, owner)
    pd.testing.assert_series_equal(_day7(before), _day7(after))
    assert not before.amount.equals(after.amount)  # later calls do see them once they exist


def test_commit_reads_the_open_deals_and_counts_what_is_booked():
    opp, owner = _deals()
    sub = Q2 + 7 + WORK_START
    is_open = (opp["enter"][:, 0] <= sub) & (opp["enter"][:, 4] > sub)
    flip = np.flatnonzero(is_open & (opp["enter"][:, 4] < 181))
    assert flip.size
    changed = {**opp, "won": opp["won"].copy()}
    changed["won"][flip] = ~changed["won"][flip]
    # a rep who reads deals well changes the commit when their outcome changes: private information
    assert not _day7(_calls(opp, owner, 8.0)).equals(_day7(_calls(changed, owner, 8.0)))
    calls = _calls(opp, owner)
    day7 = _day7(calls)
    closed = opp["enter"][:, 4]
    for rep in (1, 2):
        booked = opp["amount"][(owner == rep) & opp["won"] & (closed >= Q2) & (closed <= sub)].sum()
        assert day7[(rep, "commit")] >= booked - 50  # booked is never sandbagged away (rounding to 100)
        assert day7[(rep, "best_case")] >= day7[(rep, "commit")]
    q2 = calls[(calls.period == "2025-Q2") & (calls.category == "commit") & (calls.rep == 1)]
    assert np.allclose(np.floor(q2.day) - Q2, np.arange(7, 91, 7))  # weekly calls through the quarter
