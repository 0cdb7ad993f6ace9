"""Experiment design and analysis: Hillstrom's published lifts, randomization, power checked by simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairshare.contribution.experiments import (
    EXPERIMENT_COLUMNS,
    ExperimentAnalysis,
    _lift_t_tests,
    analyze,
    assign_arms,
    design_effect,
    minimum_detectable_effect,
    power,
    simulated_power,
)
from fairshare.schema import TABLES

HILLSTROM = "hillstrom_email/Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv"
PRE_PERIOD = ["recency", "history", "mens", "womens", "zip_code", "newbie", "channel"]


@pytest.fixture(scope="module")
def hillstrom(reference_data) -> pd.DataFrame:
    return pd.read_csv(reference_data(HILLSTROM))


@pytest.fixture(scope="module")
def hillstrom_lifts(hillstrom: pd.DataFrame) -> pd.DataFrame:
    return analyze(
        hillstrom,
        "segment",
        ["visit", "conversion", "spend"],
        control="No E-Mail",
        covariates=PRE_PERIOD,
        level=0.95,
    )


@pytest.mark.parametrize(
    ("outcome", "scale", "digits", "lift", "half_width"),
    [("visit", 100, 2, 7.66, 0.66), ("conversion", 100, 2, 0.68, 0.18), ("spend", 1, 3, 0.770, 0.285)],
)
def test_hillstrom_mens_email_matches_published(hillstrom_lifts, outcome, scale, digits, lift, half_width):
    row = hillstrom_lifts.query(
        "arm == 'Mens E-Mail' and outcome == @outcome and method == 'difference_in_means'"
    )
    row = row.iloc[0]
    assert round(row.estimate * scale, digits) == pytest.approx(lift, abs=1e-9)
    assert round((row.ci_high - row.ci_low) / 2 * scale, digits) == pytest.approx(half_width, abs=1e-9)
    assert row.n_treated == 21307 and row.n_control == 21306
    assert row.level == 0.95


def test_hillstrom_womens_email_and_arm_means(hillstrom_lifts):
    spend = hillstrom_lifts.query(
        "arm == 'Womens E-Mail' and outcome == 'spend' and method == 'difference_in_means'"
    )
    assert round(spend.estimate.iloc[0], 3) == 0.424
    assert round((spend.ci_high - spend.ci_low).iloc[0] / 2, 3) == 0.255
    assert round(spend.mean_control.iloc[0], 3) == 0.653


def test_regression_adjustment_narrows_spend_interval(hillstrom_lifts, hillstrom):
    spend = hillstrom_lifts.query("arm == 'Mens E-Mail' and outcome == 'spend'").set_index("method")
    width = spend.ci_high - spend.ci_low
    assert width["regression_adjustment"] < width["difference_in_means"]
    assert spend.loc["regression_adjustment", "estimate"] == pytest.approx(0.770, abs=0.01)
    cuped = ExperimentAnalysis(
        "No E-Mail", PRE_PERIOD, adjustment="cuped", level=0.95, arm="segment", outcome="spend"
    ).fit(hillstrom)
    c = cuped.result_.query("arm == 'Mens E-Mail'").set_index("method")
    assert (c.ci_high - c.ci_low)["cuped"] < (c.ci_high - c.ci_low)["difference_in_means"]


def test_assignment_is_reproducible_stratified_and_in_table_format():
    units = pd.DataFrame({"unit_id": [f"rep{i}" for i in range(31)], "region": ["emea"] * 15 + ["amer"] * 16})
    a = assign_arms(units, experiment_id="x1", unit_type="rep", rng=np.random.default_rng(7), strata=["region"],
                    assigned_at="2026-01-05")  # fmt: skip
    b = assign_arms(units, experiment_id="x1", unit_type="rep", rng=np.random.default_rng(7), strata=["region"],
                    assigned_at="2026-01-05")  # fmt: skip
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns[:5]) == EXPERIMENT_COLUMNS == TABLES["experiments"].column_names
    counts = a.groupby(["region", "arm"]).size().unstack()
    assert (counts.max(axis=1) - counts.min(axis=1)).max() <= 1
    draws = {tuple(assign_arms(units, experiment_id="x", unit_type="rep", rng=np.random.default_rng(s)).arm)
             for s in range(5)}  # fmt: skip
    assert len(draws) == 5
    unequal = assign_arms(units, experiment_id="x", unit_type="lead", rng=np.random.default_rng(1),
                          arms=["control", "program"], ratio=[1, 2])  # fmt: skip
    assert unequal.arm.value_counts()["program"] in (20, 21)
    missing = units.assign(region=[None] * 4 + ["emea"] * 27)  # e.g. "NA" read as missing: its own block
    m = assign_arms(
        missing, experiment_id="x", unit_type="rep", rng=np.random.default_rng(2), strata=["region"]
    )
    assert m.arm.notna().all() and m.loc[m.region.isna(), "arm"].value_counts().tolist() == [2, 2]
    with pytest.raises(ValueError, match="unit_type"):
        assign_arms(units, experiment_id="x", unit_type="team", rng=np.random.default_rng(1))


def test_power_and_mde_are_inverse_and_cluster_aware():
    mde = minimum_detectable_effect(n=800, sd=1.0)
    assert power(mde, n=800, sd=1.0) == pytest.approx(0.8, abs=1e-6)
    assert mde == pytest.approx(2.8 * np.sqrt(4 / 800), rel=0.01)  # (1.96 + 0.84) * sd * sqrt(1/n_t + 1/n_c)
    assert design_effect(25, 0.05) == pytest.approx(2.2)
    clustered = minimum_detectable_effect(n=800, sd=1.0, cluster_size=25, icc=0.05)
    assert clustered > mde * np.sqrt(2.2)  # design effect plus fewer degrees of freedom


@pytest.mark.parametrize(("cluster_size", "icc"), [(1, 0.0), (25, 0.05)])
def test_type_one_error_and_realized_power_match_design(cluster_size, icc):
    rng = np.random.default_rng(2026)
    kw = {"n": 1000, "sd": 2.0, "cluster_size": cluster_size, "icc": icc}
    type_one = simulated_power(0.0, rng=rng, n_sims=4000, **kw)
    assert 0.03 <= type_one <= 0.07
    for target in (0.5, 0.8):
        effect = minimum_detectable_effect(power=target, **kw)
        realized = simulated_power(effect, rng=rng, n_sims=4000, **kw)
        assert abs(realized - target) <= 0.05, (target, realized)


def test_vectorized_tests_equal_statsmodels_analysis():
    rng = np.random.default_rng(3)
    g, m = 30, 8
    y = rng.normal(size=(1, g, m)) + rng.normal(0, 0.5, size=(1, g, 1))
    treated = rng.permuted(np.arange(g) < 15)[None, :]
    frame = pd.DataFrame({"y": y.ravel(), "arm": np.repeat(np.where(treated[0], "treatment", "control"), m),
                          "rep": np.repeat(np.arange(g), m)})  # fmt: skip
    est, se, _ = _lift_t_tests(y, treated)
    clustered = ExperimentAnalysis(cluster="rep", outcome="y").fit(frame).result_.iloc[0]
    assert clustered.estimate == pytest.approx(est[0]) and clustered.se == pytest.approx(se[0])
    assert clustered.n_clusters == g
    flat = y[:, :, :1]
    est1, se1, _ = _lift_t_tests(flat, treated)
    single = (
        ExperimentAnalysis(outcome="y")
        .fit(frame.groupby("rep").first().assign(y=flat.ravel()))
        .result_.iloc[0]
    )
    assert single.se == pytest.approx(se1[0])


def test_analysis_errors_are_clear():
    frame = pd.DataFrame({"arm": ["a", "b"] * 5, "y": range(10)})
    with pytest.raises(ValueError, match="not found"):
        ExperimentAnalysis(outcome="revenue").fit(frame)
    with pytest.raises(ValueError, match="control arm"):
        ExperimentAnalysis(control="zzz", outcome="y").fit(frame)
