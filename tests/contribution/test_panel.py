"""The SDR outbound panel: who enters a sequence when, the outcome window, start-of-period controls, and the
three strategies on data with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairshare.config import ContributionSettings
from fairshare.contribution.panel import (
    account_periods,
    capacity_iv,
    heavy_deals,
    panel_dml,
    winsorized,
)

QUICK = {"n_folds": 3, "n_estimators": 100, "learning_rate": 0.08, "level": 0.9, "random_state": 0}
START = pd.Timestamp("2025-01-01")


def _events(outbound, won, touches=(), leads=(), n_periods=6, capacity=None) -> dict:
    """Hand-made per-(account, period) events for two accounts A and B."""

    def frame(rows, name, **extra):
        cols = ["account_id", "period", name, *extra]
        return pd.DataFrame(list(rows), columns=cols)

    return {
        "start": START,
        "end": START + pd.Timedelta(days=28 * n_periods - 1),
        "outbound": frame(outbound, "outbound"),
        "touches": frame(touches, "touches"),
        "leads": frame(leads, "leads"),
        "opportunities": frame([(a, p, 1) for a, p, _ in won], "opportunities"),
        "won": pd.DataFrame([(a, p, 1, v) for a, p, v in won], columns=["account_id", "period", "won_deals", "won_revenue"]),
        "capacity": pd.DataFrame({"period": range(n_periods), "rep_days": capacity or [10.0] * n_periods}),
        "accounts": pd.DataFrame({"account_id": ["A", "B"], "industry": "software", "region": "NA",
                                  "employees": [100, 200], "annual_revenue": [1e6, 2e6],
                                  "created_at": [START - pd.Timedelta(days=10)] * 2}),
    }  # fmt: skip


def test_entry_outcome_window_and_controls_by_hand():
    # A: outbound in periods 1 and 2 (one sequence entered in 1), a 500 win created in period 3;
    # B: never reached, 200 won created in period 0. Window 84 days = 3 periods, lookback 28 days = 1 period.
    events = _events(outbound=[("A", 1, 3), ("A", 2, 2)], won=[("A", 3, 500.0), ("B", 0, 200.0)],
                     touches=[("A", 0, 4), ("A", 2, 1)], leads=[("A", 3, 1)])  # fmt: skip
    entering = ContributionSettings(panel_period_days=28, panel_window_days=84, panel_lookback_days=28)
    panel = account_periods(events, entering).set_index(["account_id", "period"])
    # A in periods 2 and 3 had outbound in the period before: inside a sequence, not at risk of entering one
    assert ("A", 2) not in panel.index and ("A", 3) not in panel.index and ("A", 1) in panel.index
    assert panel.loc[("A", 1), "entered"] == 1 and panel["entered"].sum() == 1
    # outcome: won revenue of opportunities created in [period, period + 3): A's 500 (period 3) counts for 1..3
    assert panel.loc[("A", 1), "won_revenue"] == 500 and panel.loc[("A", 0), "won_revenue"] == 0
    assert panel.loc[("A", 4), "won_revenue"] == 0
    assert panel.loc[("B", 0), "won_revenue"] == 200
    # controls are the state at the period's start: the period's own touches, leads and outbound never count
    assert panel.loc[("A", 0), "prior_touches"] == 0 and panel.loc[("A", 1), "prior_touches"] == 4
    assert panel.loc[("A", 1), "prior_leads"] == 0 and panel.loc[("A", 4), "prior_leads"] == 1
    assert panel.loc[("A", 1), "prior_outbound"] == 0 and panel.loc[("A", 4), "prior_outbound"] == 5
    assert panel.loc[("A", 1), "age_days"] == pytest.approx(38)  # created 10 days before the data, +28


def test_default_treatment_is_any_outbound_in_the_period_with_the_periods_own_outcome():
    # lookback 0: every account-period is a row and outbound in it is the treatment (A in 1 and 2); the
    # window is the period itself, so A's 500 (period 3) is the outcome of period 3 only: no period's work
    # is counted twice, and A's outbound of period 2 is a start-of-period control of period 3
    events = _events(outbound=[("A", 1, 3), ("A", 2, 2)], won=[("A", 3, 500.0), ("B", 0, 200.0)])
    settings = ContributionSettings(panel_period_days=28, panel_window_days=28)
    panel = account_periods(events, settings).set_index(["account_id", "period"])
    assert len(panel) == 2 * 6 and panel["entered"].sum() == 2
    assert panel.loc[("A", 1), "entered"] == 1 and panel.loc[("A", 2), "entered"] == 1
    assert panel.loc[("A", 3), "won_revenue"] == 500 and panel["won_revenue"].sum() == 700
    assert panel.loc[("A", 3), "recent_outbound"] == 2 and panel.loc[("A", 2), "recent_outbound"] == 3
    assert panel.loc[("A", 3), "prior_outbound"] == 5


def test_heavy_deal_is_named_and_capped():
    deals = pd.DataFrame({"opportunity_id": ["O1", "O2", "O3"], "account_id": ["A", "B", "C"],
                          "amount": [810.0, 100.0, 90.0]})  # fmt: skip
    total, warnings = heavy_deals(deals, 0.2)
    assert total == 1000 and len(warnings) == 1 and "O1" in warnings[0] and "81%" in warnings[0]
    y, cap = winsorized(np.array([0.0, 1, 2, 3, 1000]), 50)
    assert cap == 2.5 and y.max() == 2.5 and y[0] == 0  # median of the positive outcomes


def _synthetic_panel(rng, n_accounts=1500, n_periods=8, capacity=None, att=400.0, floor=0.0):
    """Entry confounded by observed state (more touches, more entries and more revenue); known ATT.

    Revenue is floored at `floor` (-inf: a constant effect, the same for every complier of an instrument)."""
    acc = np.repeat(np.arange(n_accounts), n_periods)
    period = np.tile(np.arange(n_periods), n_accounts)
    size = rng.normal(0, 1, n_accounts)[acc]
    touches = rng.poisson(np.exp(0.5 * size))
    cap = np.ones(n_periods) if capacity is None else np.asarray(capacity, float)
    logit = -1.5 + 0.8 * size + 0.3 * touches + np.log(cap[period])
    entered = (rng.random(acc.size) < 1 / (1 + np.exp(-logit))).astype(float)
    base = 300 * size + 150 * touches + rng.normal(0, 600, acc.size)
    y = np.maximum(floor, base + att * entered)
    panel = pd.DataFrame({"account_id": acc, "period": period, "entered": entered, "won_revenue": y,
                          "log_employees": size, "prior_touches": touches, "capacity": cap[period] * 100})  # fmt: skip
    panel.attrs.update(period_days=28, lookback_periods=1, window_periods=3, n_periods=n_periods,
                       capacity=tuple(cap * 100))  # fmt: skip
    # the true effect per entry on the outcome floored at zero (the same noise with and without the entry)
    treated = entered == 1
    return panel, float((np.maximum(floor, base + att) - np.maximum(floor, base))[treated].mean())


def test_panel_dml_recovers_a_known_effect_per_entry():
    panel, truth = _synthetic_panel(np.random.default_rng(1))
    s = panel_dml(panel, QUICK, ContributionSettings(winsor_percentile=100))
    n = panel["entered"].sum()
    naive = (
        panel.loc[panel.entered == 1, "won_revenue"].mean()
        - panel.loc[panel.entered == 0, "won_revenue"].mean()
    )
    assert s["identified"] and s["ci_low"] / n <= truth <= s["ci_high"] / n
    assert naive > 1.5 * truth  # the comparison without controls is far off
    assert "standard errors by account" in s["reason"]


def test_capacity_iv_identified_only_when_capacity_varies():
    rng = np.random.default_rng(2)
    flat, _ = _synthetic_panel(rng, n_periods=10)
    s = capacity_iv(flat, 0.9, ContributionSettings())
    assert not s["identified"] and s["estimate"] is None and "barely varies" in s["reason"]
    varied, truth = _synthetic_panel(
        rng, n_periods=12, capacity=[1, 1, 0.4, 0.4, 1, 1.6, 1.6, 1, 0.5, 1, 1.5, 1], floor=-np.inf
    )
    s = capacity_iv(varied, 0.9, ContributionSettings(winsor_percentile=100))
    n = varied["entered"].sum()
    assert s["identified"] and "first-stage F" in s["reason"]
    assert s["ci_low"] / n <= truth <= s["ci_high"] / n
