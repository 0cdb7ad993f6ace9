"""Budget-change replays: the same company until the change day, the changed spend (and its touches) after."""

from __future__ import annotations

import pandas as pd
import pytest

from fairshare.simulate import SimulationConfig, simulate
from fairshare.simulate.scenarios import Scenario


def test_budget_replay_changes_only_what_comes_after_the_change():
    cfg = SimulationConfig(accounts=300, days=240)
    factual = simulate(cfg, seed=5)
    doubled = simulate(cfg, seed=5, scenario="budget:paid_search*2@150")
    change = pd.Timestamp(cfg.start, tz="UTC") + pd.Timedelta(days=150)
    for name in ("touches", "spend"):
        at = "at" if name == "touches" else "date"
        before = [w.tables[name][pd.to_datetime(w.tables[name][at], utc=True) < change].reset_index(drop=True)
                  for w in (factual, doubled)]  # fmt: skip
        pd.testing.assert_frame_equal(before[0], before[1])
    spend = [w.tables["spend"] for w in (factual, doubled)]
    after = [
        s[(pd.to_datetime(s["date"], utc=True) >= change) & (s["channel"] == "paid_search")]["amount"].sum()
        for s in spend
    ]
    assert after[1] == pytest.approx(2 * after[0], rel=1e-3)
    touches = [w.tables["touches"] for w in (factual, doubled)]
    n = [
        ((pd.to_datetime(t["at"], utc=True) >= change) & (t["channel"] == "paid_search")).sum()
        for t in touches
    ]
    assert n[1] > 1.3 * n[0]  # touches follow spend^0.6: about 2^0.6 = 1.5 times as many


def test_budget_scenario_names_are_checked():
    channels = SimulationConfig().all_channels
    assert Scenario.parse("budget:paid_search*1.5@180+events*0@200", channels).budget == (
        ("paid_search", 1.5, 180), ("events", 0.0, 200)
    )  # fmt: skip
    with pytest.raises(ValueError, match="unknown channel 'radio'"):
        Scenario.parse("budget:radio*2@10", channels)
    with pytest.raises(ValueError, match="budget:<channel>"):
        Scenario.parse("budget:paid_search", channels)
