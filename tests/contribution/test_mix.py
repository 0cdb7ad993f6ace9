"""The marketing-mix model: published ground truth, identification, calibration, the simulator grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairshare.contribution.mix import RESULT_COLUMNS, MixModel, geometric_adstock, mix_strategies
from fairshare.contribution.mix_calibration import calibrate


def test_adstock_is_normalised_geometric_carry_over():
    # one unit of spend in week 0, decay 0.5 over 3 weeks: weights 1, 0.5, 0.25 normalised by 1.75
    out = geometric_adstock(np.array([1.0, 0, 0, 0]), 0.5, 3)
    np.testing.assert_allclose(out, [1 / 1.75, 0.5 / 1.75, 0.25 / 1.75, 0])


@pytest.fixture(scope="module")
def pymc_fit(reference_data) -> MixModel:
    d = pd.read_csv(reference_data("pymc_mmm_example/mmm_example.csv"))
    frame = pd.DataFrame({"week": d.date_week, "leads": d.y, "spend__x1": d.x1, "spend__x2": d.x2,
                          "event_1": d.event_1, "event_2": d.event_2})  # fmt: skip
    return MixModel(controls=("event_1", "event_2"), n_boot=100).fit(frame)


def test_pymc_example_recovers_the_true_channel_contributions(pymc_fit):
    # SOURCE.md: x1 contributes 29.05% of y, x2 6.97% (exact, from the reproduced data-generating process)
    r = pymc_fit.result_.set_index("key")
    total = 946_005.6
    for key, truth in (("x1", 0.2905), ("x2", 0.0697)):
        assert r.at[key, "lost_ci_low"] / total <= truth <= r.at[key, "lost_ci_high"] / total
        assert r.at[key, "share"] == pytest.approx(truth, rel=0.12)
        assert r.at[key, "identified"]
    # the true adstock decays are 0.4 (x1) and 0.2 (x2)
    assert [pymc_fit.grid_[c][0] for c in pymc_fit.choice_] == [0.4, 0.2]
    assert list(pymc_fit.result_.columns) == RESULT_COLUMNS


def _flat_frame(weeks: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"week": pd.date_range("2025-01-06", periods=weeks, freq="7D"),
                         "leads": rng.poisson(30, weeks).astype(float),
                         "spend__search": 1000.0 * (1 + 0.01 * rng.normal(size=weeks))})  # fmt: skip


def test_constant_budget_is_not_identified_and_proposes_a_holdout():
    r = MixModel(n_boot=30).fit(_flat_frame()).result_.set_index("key")
    assert not r.at["all", "identified"]
    assert "near zero" in r.at["all", "reason"]
    assert "holdout" in r.at["all", "proposal"] and "detects" in r.at["all", "proposal"]
    assert r.at["all", "lost_ci_high"] <= 60 * 30 * 1.5  # never more than all inbound demand (bounded)


def test_collinear_channels_are_not_identified_one_by_one():
    rng = np.random.default_rng(1)
    weeks = 80
    on = (rng.random(weeks) < 0.5).astype(float)  # flights: on and off weeks, identical for both channels
    spend = 1000 * on
    lift = 5 * (geometric_adstock(spend, 0.3, 8) / 1000)
    frame = pd.DataFrame({"week": pd.date_range("2024-01-01", periods=weeks, freq="7D"),
                          "leads": 30 + 10 * lift + rng.normal(0, 1, weeks),
                          "spend__a": spend, "spend__b": spend})  # fmt: skip
    r = MixModel(n_boot=30).fit(frame).result_.set_index("key")
    assert r.at["all", "identified"]  # together they went dark in about half the weeks
    for key in ("a", "b"):
        assert not r.at[key, "identified"] and "independently" in r.at[key, "reason"]


def test_calibration_weights_by_precision_never_narrows_the_holdout_and_spans_disagreement():
    table = pd.DataFrame([{c: np.nan for c in RESULT_COLUMNS}])
    table = table.assign(unit="marketing", key="all", identified=True, reason="", proposal="", assumptions="a",
                         method="m", mix_estimate=100.0, mix_ci_low=80.0, mix_ci_high=120.0)  # fmt: skip
    # an experiment as precise as the mix and agreeing: equal weights for the estimate; the interval is never
    # narrower than the experiment's (the mix can be biased where demand is captured): 105 +- 20/sqrt(2) ⊂ 90..130
    lift = pd.DataFrame(
        [{"unit": "marketing", "key": "all", "estimate": 110.0, "ci_low": 90.0, "ci_high": 130.0}]
    )
    out = calibrate(table, lift, 0.9).iloc[0]
    assert out["estimate"] == pytest.approx(105.0)
    assert (out["ci_low"], out["ci_high"]) == (90.0, 130.0)
    # disagreement beyond both intervals: the interval spans both
    far = lift.assign(estimate=300.0, ci_low=250.0, ci_high=350.0)
    out = calibrate(table, far, 0.9).iloc[0]
    assert (out["ci_low"], out["ci_high"]) == (80.0, 350.0) and "disagree" in out["assumptions"]
    # a row the spend history does not identify: the experiment alone gives the number, the mix is kept beside it
    unidentified = table.assign(
        identified=False, reason="spend never falls near zero", proposal="geo holdout"
    )
    out = calibrate(unidentified, far, 0.9).iloc[0]
    assert (out["estimate"], out["ci_low"], out["ci_high"]) == (300.0, 250.0, 350.0)
    assert out["identified"] and out["reason"] == "" and out["mix_estimate"] == 100.0


def test_meridian_geo_panel_runs_with_regions(reference_data):
    g = pd.read_csv(reference_data("meridian_simulated/geo_all_channels.csv"))
    g = g.loc[g["geo"].isin([f"Geo{i}" for i in range(8)])]
    spend = [c for c in g.columns if c.endswith("_spend")]
    frame = pd.DataFrame({"week": g.time, "region": g.geo, "leads": g.conversions,
                          **{f"spend__{c[:-6]}": g[c] for c in spend}, "promo": g.Promo})  # fmt: skip
    m = MixModel(controls=("promo",), n_boot=20).fit(frame)
    r = m.result_.set_index("key")
    assert len(m.regions_) == 8 and len(m.weeks_) == 156
    assert 0 < r.at["all", "share"] < 0.5  # media is a minority of conversions in this data
    assert r.at["all", "lost"] == pytest.approx(r.loc[r.index != "all", "lost"].sum())  # additive


@pytest.fixture(scope="module")
def grid_worlds(tmp_path_factory) -> list[tuple[pd.DataFrame, pd.DataFrame, float]]:
    from fairshare import Workspace
    from fairshare.simulate import simulate_with_truth
    from fairshare.simulate.grid import grid_config

    out = []
    for name in ("arrive00-plain", "arrive40-confounded"):  # creation vs capture; the second has holdouts
        cfg = grid_config(name, accounts=800)
        world = simulate_with_truth(cfg, seed=3, scenarios=("marketing_off",))
        root = tmp_path_factory.mktemp(name)
        world.write(root / "company", format="parquet")
        ws = Workspace.init(root / "ws")
        ws.import_(root / "company")
        rows = mix_strategies(ws, n_boot=60)
        won = ws.table("opportunities").filter(lambda t: t.is_won).amount.sum().execute()
        ws.close()
        out.append((rows, world.truth["incremental"].set_index("unit"), float(won)))
    return out


def test_grid_worlds_are_bounded_and_calibrated_by_the_holdout(grid_worlds):
    for rows, _, won in grid_worlds:
        m = rows.set_index(["unit", "key"]).loc[("marketing", "all")]
        assert (
            m["ci_low"] <= m["estimate"] <= m["ci_high"] <= won
        )  # a removal effect never exceeds won revenue
        assert set(rows["key"]) == {
            "all",
            "paid_search",
            "paid_social",
            "content",
            "webinar",
            "email",
            "events",
        }
    holdout = grid_worlds[1][0].set_index(["unit", "key"]).loc[("marketing", "all")]
    assert np.isfinite(holdout["lift_estimate"]) and holdout["method"].endswith("+lift_test")


@pytest.mark.xfail(
    strict=True,
    reason="demand capture: short-run spend response overstates the removal effect "
    "(measured 0.45M against a true expected 0.14M here; benchmarks/mix_check.py)",
)
def test_capture_world_tracks_the_true_marketing_effect(grid_worlds):
    rows, truth, _ = grid_worlds[1]
    m = rows.set_index(["unit", "key"]).loc[("marketing", "all")]
    assert m["mix_estimate"] == pytest.approx(truth.at["marketing", "incremental_expected_revenue"], rel=0.25)
