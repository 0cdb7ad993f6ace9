"""Spend what-if routes: the mix model's fitted response (adapter) and the Poisson fallback, and which
route a what-if says it used."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairshare.contribution.mix import geometric_adstock, logistic_saturation
from fairshare.forecast.mix_response import RESPONSE_COLUMNS, MixResponse
from fairshare.forecast.whatif import WHATIF_COLUMNS, BudgetChange, base_forecasts, spend_whatif

AS_OF = pd.Timestamp("2025-10-01")


@pytest.fixture(scope="module")
def mix(sim_workspace) -> MixResponse:
    return MixResponse(n_boot=20, random_state=0).fit(sim_workspace.workspace, AS_OF)


def test_mix_response_pushes_spend_through_the_fitted_curve(mix):
    m = mix.model_
    assert list(mix.result_.columns) == RESPONSE_COLUMNS and mix.result_["channel"].tolist() == m.channels_
    assert m.weeks_.max() + pd.Timedelta(days=7) <= AS_OF  # only weeks that had ended by as-of
    assert 0 < mix.opportunity_rate_ < 1
    c = int(np.argmax(m.coef_))  # the channel with the strongest fitted response
    name = m.channels_[c]
    base = np.full((10, 1), m.spend_[c][-13:].sum(axis=1).mean())
    rng = np.random.default_rng(0)
    same = mix.extra_leads([name], base, base, 50, rng)
    assert np.allclose(same, 0.0)  # no change, no extra leads
    more = mix.extra_leads([name], base, 2 * base, 2000, rng)
    less = mix.extra_leads([name], base, 0 * base, 2000, rng)
    assert (more >= 0).all() and (less <= 0).all() and more.sum() > 0
    # by hand at the fitted coefficient: spend spread over regions like the last 13 weeks, adstocked with the
    # chosen decay, scaled by the history's top adstocked week, saturated, summed over regions
    past = m.spend_[c]
    share = past[-13:].sum(axis=0) / past[-13:].sum()
    decay, lam = m.grid_[m.choice_[c]]
    top = geometric_adstock(past, decay, m.adstock_max_lag).max()

    def leads(weekly: float) -> np.ndarray:
        spend = np.vstack([past, np.full((10, 1), weekly) * share[None, :]])
        a = geometric_adstock(spend, decay, m.adstock_max_lag)[len(past) :]
        return m.coef_[c] * logistic_saturation(a / top, lam).sum(axis=1)

    expected = leads(2 * base[0, 0]) - leads(base[0, 0])
    boot = m.boot_lost_[:, c] / m.contribution_[c].sum()  # the bootstrap scales the coefficient
    assert more.mean(axis=0)[:, 0] == pytest.approx(expected * boot.mean(), rel=0.1)


def test_a_whatif_says_which_route_it_used(sim_workspace, mix):
    ws = sim_workspace.workspace
    bases = base_forecasts(ws, AS_OF, periods=2, n_draws=300)
    channel = mix.channels_[int(np.argmax(mix.model_.coef_))]
    change = [BudgetChange(channel, 2.0)]
    mix.result_["identified"] = mix.result_["channel"] == channel  # as if the spend history identified it
    via_mix = spend_whatif(ws, change, as_of=AS_OF, n_draws=300, bases=bases, mix=mix)
    assert list(via_mix.columns) == WHATIF_COLUMNS
    assert set(via_mix["route"]) == {"mix"} and via_mix["response"].str.startswith("mix model").all()
    assert (via_mix["delta_p50"] >= 0).all() and via_mix["extra_leads"].iloc[0] > 0
    mix.result_["identified"] = False
    mix.result_["reason"] = "interval too wide"
    fallback = spend_whatif(ws, change, as_of=AS_OF, n_draws=300, bases=bases, mix=mix)
    assert set(fallback["route"]) == {"poisson"}
    assert fallback["response"].str.contains(f"fallback: the mix model does not identify {channel}: interval too wide",
                                             regex=False).all()  # fmt: skip
    # both routes add to the same base forecast
    assert fallback["base_p50"].tolist() == via_mix["base_p50"].tolist()
