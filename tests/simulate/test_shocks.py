"""Shocks: each one changes only its own mechanism, from its date on, and the truth names its $ effect."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fairshare.simulate import SimulationConfig, simulate_with_truth
from fairshare.simulate.scenarios import Scenario
from fairshare.simulate.shocks import SHOCK_COLUMNS, SHOCKS_OFF, Shock, Shocks

AT = dt.date(2025, 7, 1)
DAY = (AT - dt.date(2025, 1, 1)).days


def _shocked(name: str, size: float, accounts: int = 400):
    cfg = SimulationConfig(
        accounts=accounts, experiment=False, shocks=Shocks(**{name: Shock(at=AT, size=size)})
    )
    return simulate_with_truth(cfg, seed=3, scenarios=[SHOCKS_OFF], keep_replays=True)


def _before(frame, column="created_at"):
    return frame[pd.to_datetime(frame[column], utc=True) < pd.Timestamp(AT, tz="UTC")]


def test_shocks_are_off_by_default_and_a_replay_parses():
    assert SimulationConfig().shocks.active() == {}
    assert Scenario.parse(SHOCKS_OFF) == Scenario(SHOCKS_OFF, shocks=False)
    assert Shocks(spend=Shock(at=AT, size=0.5)).active().keys() == {"spend"}


@pytest.mark.parametrize("name,size", [("lead_quality", 0.8), ("deal_size", 0.5), ("ae_skill", 1.5),
                                       ("spend", 0.9), ("sdr_capacity", 0.9)])  # fmt: skip
def test_a_shock_lowers_revenue_after_its_date_only_and_the_truth_says_by_how_much(name, size):
    world = _shocked(name, size)
    truth = world.truth["shocks"]
    assert list(truth.columns) == SHOCK_COLUMNS and set(truth["shock"]) == {name}
    q = truth.set_index("period")
    assert q.loc["2025-Q1", "effect"] == 0 and q.loc["2025-Q2", "effect"] == 0  # before the shock: same dice
    assert q.loc["all", "expected_effect"] < 0  # after it: less expected revenue than the replay without it
    assert q.loc["all", "effect"] == pytest.approx(
        world.truth["scenarios"]
        .set_index("scenario")
        .loc[["factual", SHOCKS_OFF], "won_revenue"]
        .diff()
        .iloc[-1]
        * -1
    )
    replay = world.replays[SHOCKS_OFF]
    shocked_leads, plain_leads = world.tables["leads"], replay["leads"]
    if name in ("lead_quality", "ae_skill", "deal_size", "sdr_capacity"):  # the same leads arrive
        assert len(shocked_leads) == len(plain_leads)
    if name == "spend":  # less spend from the date on, the same before it
        spend, plain = world.tables["spend"], replay["spend"]
        assert _before(spend, "date")["amount"].sum() == pytest.approx(_before(plain, "date")["amount"].sum())
        assert spend["amount"].sum() < 0.8 * plain["amount"].sum()


def test_lead_quality_moves_inbound_leads_to_poor_fit_accounts_after_its_date():
    world = _shocked("lead_quality", 0.8, accounts=600)
    fit = world.truth["accounts"].set_index("account_id")["fit_observed"]
    shocked, plain = world.tables["leads"], world.replays[SHOCKS_OFF]["leads"]

    def late(f):
        return f[(pd.to_datetime(f["created_at"], utc=True) >= pd.Timestamp(AT, tz="UTC"))
                 & (f["source_team"] == "marketing")]  # fmt: skip

    assert fit[late(shocked)["account_id"]].mean() < fit[late(plain)["account_id"]].mean() - 0.5
    assert np.array_equal(_before(shocked)["account_id"].to_numpy(), _before(plain)["account_id"].to_numpy())
