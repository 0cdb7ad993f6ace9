"""DML incremental effects: known synthetic truth, reproducibility, overlap, sensitivity, the contribution table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairshare.contribution.incremental import CONTRIBUTION_COLUMNS, IncrementalEffect, contribution_table
from fairshare.contribution.reconcile import RECONCILIATION_COLUMNS, reconciliation

QUICK = {"n_folds": 3, "n_estimators": 150, "learning_rate": 0.06}


def confounded(n: int, seed: int, slope: float = 1.0):
    """Accounts whose exposure and revenue both rise with size/industry; true effect on the exposed known."""
    rng = np.random.default_rng(seed)
    size = rng.normal(size=n)
    industry = rng.choice(["software", "retail", "media"], size=n)
    lift = np.where(industry == "software", 0.8, 0.0)
    p = 1 / (1 + np.exp(-(slope * size + lift)))
    d = (rng.random(n) < p).astype(float)
    effect = 2000 * (1 + 0.5 * (size > 0))
    y = 5000 * np.exp(0.6 * size) + 3000 * lift + effect * d + rng.normal(0, 1500, n)
    x = pd.DataFrame({"size": size, "industry": industry})
    return x, d, y, float((effect * d).sum())


def test_irm_recovers_incremental_revenue_where_naive_comparison_fails():
    x, d, y, truth = confounded(3000, seed=1)
    m = IncrementalEffect(**QUICK).fit(x, d, y)
    assert m.total_ci_low_ <= truth <= m.total_ci_high_
    assert abs(m.total_ - truth) / truth < 0.15
    naive = (y[d == 1].mean() - y[d == 0].mean()) * d.sum()
    assert naive > m.total_ci_high_  # confounding inflates the naive difference
    assert m.n_exposed_ == int(d.sum()) and m.total_ == pytest.approx(m.effect_ * d.sum())
    assert "no unmeasured confounding" in "; ".join(m.assumptions_)
    assert m.overlap_warning_ == ""


def test_plr_total_is_theta_times_dose():
    rng = np.random.default_rng(4)
    x = pd.DataFrame({"size": rng.normal(size=2000)})
    dose = rng.poisson(np.exp(1 + 0.5 * x["size"]))
    y = 300.0 * dose + 2000 * x["size"] + rng.normal(0, 500, 2000)
    m = IncrementalEffect(method="plr", **QUICK).fit(x, dose, y)
    assert m.ci_low_ <= 300 <= m.ci_high_
    assert m.total_ == pytest.approx(m.effect_ * dose.sum())


def test_fit_is_reproducible_and_leaves_the_global_rng_alone():
    x, d, y, _ = confounded(800, seed=2)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = IncrementalEffect(random_state=5, **QUICK).fit(x, d, y)
    after = np.random.get_state()[1]
    b = IncrementalEffect(random_state=5, **QUICK).fit(x, d, y)
    c = IncrementalEffect(random_state=6, **QUICK).fit(x, d, y)
    assert np.array_equal(before, after)
    assert a.total_ == b.total_ and a.total_ != c.total_


def test_poor_overlap_is_flagged_and_trimming_is_stated():
    x, d, y, _ = confounded(2000, seed=3, slope=6.0)
    m = IncrementalEffect(**QUICK).fit(x, d, y)
    assert "propensity" in m.overlap_warning_
    t = IncrementalEffect(trim=0.05, **QUICK).fit(x, d, y)
    assert any("trimmed" in a for a in t.assumptions_)


def test_sensitivity_is_larger_for_a_stronger_effect():
    x, d, y, _ = confounded(2000, seed=5)
    strong = IncrementalEffect(**QUICK).fit(x, d, y + 4000 * d)
    weak = IncrementalEffect(**QUICK).fit(x, d, y)
    assert 0 < weak.robustness_value_ < strong.robustness_value_ < 1
    assert strong.sensitivity_.startswith("RV ")


def test_bad_inputs_are_rejected():
    x, d, y, _ = confounded(200, seed=6)
    with pytest.raises(ValueError, match="0/1"):
        IncrementalEffect().fit(x, d * 2, y)
    with pytest.raises(ValueError, match="exposed and unexposed"):
        IncrementalEffect().fit(x, np.ones_like(d), y)


def _accounts(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "account_id": [f"A{i}" for i in range(n)], "industry": rng.choice(["a", "b"], n),
        "region": rng.choice(["NA", "EMEA"], n), "log_employees": rng.normal(5, 1, n),
        "log_annual_revenue": rng.normal(16, 1, n), "account_age_days": rng.uniform(30, 900, n),
        "touches__search": rng.poisson(3, n), "touches__email": rng.poisson(5, n), "sdr_prospecting": rng.poisson(1, n),
    })  # fmt: skip
    frame["touches_paid"] = frame["touches__search"] + frame["touches__email"]
    frame["won_revenue"] = (
        400.0 * frame["touches__search"] + 900 * frame["sdr_prospecting"] + rng.normal(0, 800, n)
    )
    frame.attrs["paid_channels"] = ["email", "search"]
    return frame


def test_contribution_table_has_the_documented_columns_and_units():
    accounts = _accounts(1500, seed=7)
    table = contribution_table(accounts, None, settings=QUICK)
    assert list(table.columns) == CONTRIBUTION_COLUMNS
    rows = table.set_index(["unit", "key"])
    assert {
        ("marketing", "all"),
        ("channel", "search"),
        ("channel", "email"),
        ("sdr", "all"),
        ("ae", "all"),
    } <= set(rows.index)
    search = rows.loc[("channel", "search")]
    true_search = 400.0 * accounts["touches__search"].sum()
    assert search.ci_low <= true_search <= search.ci_high
    sdr = rows.loc[("sdr", "all")]
    assert sdr.ci_low <= 900 * accounts["sdr_prospecting"].sum() <= sdr.ci_high
    assert (table["level"] == 0.9).all() and (table["ci_low"] <= table["ci_high"]).all()
    assert table["assumptions"].str.len().gt(0).all()


def test_reconciliation_puts_attributed_and_sourced_next_to_incremental():
    table = pd.DataFrame({
        "unit": ["marketing", "channel", "channel", "sdr", "ae", "speed_to_lead"],
        "key": ["all", "search", "email", "all", "all", "sla_24h"], "estimate": [100.0, 60, 40, 50, 80, 5],
        "ci_low": [50.0, 20, 0, 20, 60, 1], "ci_high": [150.0, 90, 80, 90, 100, 9],
    })  # fmt: skip
    attribution = pd.DataFrame({"model": ["linear"] * 4, "by": ["channel", "channel", "team", "team"],
                                "key": ["search", "email", "SDR", "marketing"], "revenue": [120.0, 80, 70, 190],
                                "share": [0.4, 0.3, 0.2, 0.5]})  # fmt: skip
    sourced = pd.DataFrame(
        {"team": ["marketing", "sdr"], "sourced_revenue": [300.0, 90], "influenced_revenue": [400.0, 95]}
    )
    out = reconciliation(table, {"attribution": attribution, "attribution_sourced": sourced})
    assert list(out.columns) == RECONCILIATION_COLUMNS
    m = out.set_index(["unit", "key"])
    assert m.loc[("marketing", "all"), "attributed"] == 190  # the team split (sales touches share credit)
    assert m.loc[("marketing", "all"), "sourced"] == 300
    assert m.loc[("channel", "search"), "incremental_to_attributed"] == pytest.approx(0.5)
    assert m.loc[("sdr", "all"), "attributed"] == 70 and m.loc[("sdr", "all"), "influenced"] == 95
    assert "speed_to_lead" not in out["unit"].to_numpy()
    channels_only = reconciliation(table, {"attribution": attribution.query("by == 'channel'")})
    assert (
        channels_only.set_index(["unit", "key"]).loc[("marketing", "all"), "attributed"] == 200
    )  # sum of channels
    bare = reconciliation(table, {})
    assert len(bare) == 5 and bare["attributed"].isna().all()


def test_dose_strata_remove_the_variance_weighting_of_one_plr():
    rng = np.random.default_rng(8)
    n = 4000
    x = pd.DataFrame({"size": rng.normal(size=n)})
    dose = rng.poisson(np.exp(0.5 + 0.8 * x["size"]))
    # targeting sends most touches where each one is worth most
    slope = np.where(x["size"] > 0.5, 400.0, 50.0)
    y = slope * dose + 1000 * x["size"] + rng.normal(0, 300, n)
    truth = float((slope * dose).sum())
    pooled = IncrementalEffect(method="plr", **QUICK).fit(x, dose, y)
    strata = IncrementalEffect(method="plr", dose_strata=5, **QUICK).fit(x, dose, y)
    assert abs(strata.total_ - truth) < abs(pooled.total_ - truth)
    assert strata.total_ci_low_ <= truth <= strata.total_ci_high_
    assert strata.sensitivity_.startswith("weakest of 5 strata")


def test_dose_spline_recovers_a_removal_effect_that_grows_with_the_dose():
    # touches that pay off only on top of others: zero effect up to 4 touches, then 300 per extra touch.
    # One slope times the total dose overstates removing them (the line's negative intercept is dropped);
    # the spline, zero at zero dose, sums each unit's own fitted effect.
    rng = np.random.default_rng(21)
    n = 4000
    x = pd.DataFrame({"size": rng.normal(size=n)})
    dose = rng.poisson(np.exp(1.2 + 0.5 * x["size"])).astype(float)
    effect = 300.0 * np.clip(dose - 4, 0, None)
    y = effect + 800 * x["size"] + rng.normal(0, 400, n)
    truth = float(effect.sum())
    line = IncrementalEffect(method="plr", **QUICK).fit(x, dose, y)
    spline = IncrementalEffect(method="plr", dose_knots=(0.5, 0.8), **QUICK).fit(x, dose, y)
    assert line.total_ > 1.3 * truth  # the single slope overstates
    assert spline.total_ci_low_ <= truth <= spline.total_ci_high_
    assert abs(spline.total_ - truth) < 0.1 * truth
    assert 0 < spline.robustness_value_ < 1 and spline.robustness_value_ci_ <= spline.robustness_value_
    assert spline.sensitivity_.startswith("RV ") and len(spline.coef_) == 1 + len(spline.knots_)
    # total_for on the same outcome reproduces the fit up to the outcome learner's seed
    again, se = spline.total_for(y)
    assert again == pytest.approx(spline.total_, rel=0.05) and se > 0
    # repeated cross-fitting: median over three fold splits, still centred on the truth
    repeated = IncrementalEffect(method="plr", dose_knots=(0.5, 0.8), n_rep=3, **QUICK).fit(x, dose, y)
    assert len(repeated._fit_data[2]) == 3 and repeated.total_ci_low_ <= truth <= repeated.total_ci_high_
    assert abs(repeated.total_ - truth) < 0.1 * truth
    with pytest.raises(ValueError, match="cannot be combined"):
        IncrementalEffect(method="plr", dose_knots=(0.5,), dose_strata=3, **QUICK).fit(x, dose, y)


def test_assumptions_come_from_the_definitions_and_are_printed():
    from fairshare.config import ContributionSettings

    accounts = _accounts(600, seed=9)
    won = accounts["won_revenue"].clip(lower=0)
    accounts["won_revenue"] = won
    default = contribution_table(accounts, None, settings=QUICK).set_index("unit")
    custom = ContributionSettings(ae_baseline_win_factor=0.2, ae_baseline_amount_factor=0.25, level=0.8)
    table = contribution_table(accounts, None, settings=QUICK, assumptions=custom).set_index("unit")
    assert default.loc["ae", "estimate"] == pytest.approx((1 - 0.3 * 0.5) * won.sum())
    assert table.loc["ae", "estimate"] == pytest.approx((1 - 0.2 * 0.25) * won.sum())
    assert "ae_baseline_win_factor = 0.2" in table.loc["ae", "assumptions"]
    assert "20% of the win rate and 25% of the deal size" in table.loc["ae", "assumptions"]
    assert (table["level"] == 0.8).all()
    assert (
        contribution_table(accounts, None, settings=QUICK, assumptions=custom, level=0.95)["level"] == 0.95
    ).all()


def test_sdr_total_takes_the_configured_share_of_inbound_contacts():
    from fairshare.contribution.incremental import _sdr_total

    outbound = {"estimate": 100.0, "ci_low": 50.0, "ci_high": 150.0, "n_exposed": 10, "assumptions": "a",
                "overlap_warning": "", "sensitivity": "s"}  # fmt: skip
    inbound = dict(outbound, estimate=40.0, ci_low=20.0, ci_high=60.0)
    assert _sdr_total(outbound, inbound, 0.5)["estimate"] == 120.0
    row = _sdr_total(outbound, inbound, 0.25)
    assert row["estimate"] == 110.0 and (row["ci_low"], row["ci_high"]) == (50.0, 210.0)
    assert "sdr_inbound_share = 0.25" in row["assumptions"]
