"""DML incremental effects: known synthetic truth, reproducibility, overlap, sensitivity, dose strata and splines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairshare.contribution.incremental import IncrementalEffect

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
    row = m.result_.iloc[0]  # the result table holds the same figures, one row
    assert (row["total"], row["total_ci_low"], row["n_exposed"]) == (m.total_, m.total_ci_low_, m.n_exposed_)
    assert row["assumptions"] == "; ".join(m.assumptions_)


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
    assert (
        strata.result_.at[0, "sensitivity"] == strata.sensitivity_
        and strata.result_.at[0, "total"] == strata.total_
    )


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
    assert spline.result_.at[0, "total_ci_high"] == spline.total_ci_high_
    # total_for on the same outcome reproduces the fit up to the outcome learner's seed
    again, se = spline.total_for(y)
    assert again == pytest.approx(spline.total_, rel=0.05) and se > 0
    # repeated cross-fitting: median over three fold splits, still centred on the truth
    repeated = IncrementalEffect(method="plr", dose_knots=(0.5, 0.8), n_rep=3, **QUICK).fit(x, dose, y)
    assert len(repeated._fit_data[2]) == 3 and repeated.total_ci_low_ <= truth <= repeated.total_ci_high_
    assert abs(repeated.total_ - truth) < 0.1 * truth
    with pytest.raises(ValueError, match="cannot be combined"):
        IncrementalEffect(method="plr", dose_knots=(0.5,), dose_strata=3, **QUICK).fit(x, dose, y)
