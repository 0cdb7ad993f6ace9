"""Attribution on simulated companies: the `fairshare run` contract and the ground truth."""

import time

import numpy as np
import pytest

from fairshare import attribution, journeys
from fairshare.attribution import Paths, attribute
from fairshare.workspace import Workspace

WORKING = "webinar"


@pytest.fixture(scope="module")
def one_channel_world(tmp_path_factory):
    """A company where only webinars raise interest: the other channels get the same touch volume
    and targeting but (almost) no effect; organic/direct visits, SDR prospecting and partner
    leads are switched off so that opportunities come from marketing interest."""
    from fairshare.simulate import ChannelSpec, SimulationConfig, simulate

    def spec(effect: float) -> ChannelSpec:
        return ChannelSpec(
            daily_budget=500, touches_per_day=10, effect=effect, kinds={"click": 1.0}, campaigns=2
        )

    channels = {
        c: spec(3.0 if c == WORKING else 1e-6) for c in ("paid_search", "paid_social", WORKING, "email")
    }
    config = SimulationConfig(accounts=1500, channels=channels, pull_effect=0.0, sdr_prospects_per_day=0.0,
                              partner_leads=0.0)  # fmt: skip
    root = tmp_path_factory.mktemp("one-channel")
    world = simulate(config, seed=3)
    world.write(root / "company", format="parquet")
    forecasts = root / "company" / "forecasts.parquet"
    forecasts.unlink(missing_ok=True)  # not needed here
    ws = Workspace.init(root / "ws")
    ws.import_(root / "company")
    yield ws
    ws.close()


def test_only_working_channel_gets_the_largest_share_under_data_driven_models(one_channel_world):
    tp = journeys.journeys(one_channel_world, stage="pipeline", include_activities=False)
    data = Paths.from_touchpoints(tp)
    assert data.conversions.sum() >= 40
    result = attribute(data, "all", order=[1, 2])
    for model in ("markov_1", "markov_2", "shapley"):
        shares = result[result["model"] == model].set_index("key")["share"]
        assert shares.idxmax() == WORKING, (model, shares.round(3).to_dict())
        others = shares.drop(WORKING)
        assert shares[WORKING] > others.max() + 0.03


def test_results_contract_on_the_simulated_company(sim_workspace):
    ws = sim_workspace.workspace
    start = time.perf_counter()
    out = attribution.results(ws, {})
    seconds = time.perf_counter() - start
    assert set(out) == {"attribution", "attribution_sourced"}
    table = out["attribution"]
    assert list(table.columns) == ["model", "by", *attribution.RESULT_COLUMNS[1:]]
    assert set(table["by"]) == {"channel", "team"}
    assert {"markov_1", "shapley", "time_decay", "w_shaped", "first_touch"} <= set(table["model"])
    teams = table[table["by"] == "team"]
    assert set(teams["key"]) <= {"marketing", "SDR", "AE", "other_sales"}
    for _, group in table.groupby(["model", "by"]):
        assert group["share"].sum() == pytest.approx(1.0)
        assert group["conversions"].sum() == pytest.approx(table["conversions"][group.index].sum())
        ok = group["share"] > 0.05
        assert (group.loc[ok, "ci_low"] <= group.loc[ok, "share"] + 1e-12).all()
        assert (group.loc[ok, "share"] <= group.loc[ok, "ci_high"] + 1e-12).all()
    # the same conversions are credited by channel and by team
    totals = table.groupby(["by", "model"])["conversions"].sum().unstack(0)
    np.testing.assert_allclose(totals["channel"], totals["team"])
    sourced = out["attribution_sourced"].set_index("team")
    assert list(sourced.index) == ["marketing", "SDR", "AE"]
    assert (sourced["influenced_revenue"] >= 0).all()
    assert (sourced["sourced_revenue"] <= sourced["sourced_pipeline"] + 1e-9).all()
    assert sourced["sourced_revenue_share"].sum() <= 1 + 1e-9
    assert seconds < 30  # 400 accounts; ~1.6 s for 3,000 accounts on the development machine
