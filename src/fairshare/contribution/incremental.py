"""Incremental revenue of an exposure by double machine learning (DoubleML + LightGBM).

Estimand: for binary exposure (touched by marketing, by a channel, contacted by an SDR), the
incremental revenue of the exposed units, sum over exposed i of E[Y_i(1) - Y_i(0)], estimated as
n_exposed x ATT (DoubleML IRM, score "ATTE", cross-fitted, AIPW). For continuous intensity (number
of touches), the partially linear model (DoubleML PLR) gives theta per unit of intensity and the
incremental revenue of removing all of it as theta x total intensity (assumes a linear dose); with
`dose_knots` the effect is a linear spline in the dose that is zero at zero dose, and removing the
exposure costs the sum over units of the fitted effect of their own dose.

Identification needs: no unmeasured confounding given the supplied pre-exposure confounders,
overlap (exposed units have comparable unexposed ones), no interference between units
(exposure of one account does not change another's revenue) and a correctly scoped window.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator

from fairshare.contribution.sensitivity import robustness, robustness_from_t

METHODS = ("irm_atte", "plr")
RESULT_COLUMNS = [
    "effect", "se", "ci_low", "ci_high", "total", "total_ci_low", "total_ci_high", "level", "n_units",
    "n_exposed", "robustness_value", "robustness_value_ci", "sensitivity", "overlap_warning", "assumptions",
]  # fmt: skip


class TooFewUnits(ValueError):
    """The exposure has too few units (per fold, per arm or per dose stratum) for a cross-fitted DML fit."""


def fit_problem(d: np.ndarray, n_folds: int, binary: bool, strata: int = 1) -> str | None:
    """Why a DML fit of exposure `d` cannot run, or None: every fold and stratum needs enough units.

    Binary exposure: at least 2 × `n_folds` exposed and as many unexposed units. Dose: at least
    2 × `n_folds` exposed units, and 2 × `n_folds` units per dose stratum.
    """
    d = np.asarray(d, float)
    need = 2 * n_folds
    exposed = int((d > 0).sum())
    if binary and min(exposed, d.size - exposed) < need:
        return (f"only {exposed} exposed and {d.size - exposed} unexposed units: a {n_folds}-fold DML fit needs "
                f"at least {need} of each")  # fmt: skip
    if not binary and exposed < need:
        return f"only {exposed} of {d.size} units exposed: a {n_folds}-fold DML fit needs at least {need}"
    if not binary and d.size < need * strata:
        return (f"only {d.size} units: {strata} dose strata of a {n_folds}-fold DML fit need at least "
                f"{need * strata}")  # fmt: skip
    if not binary and np.unique(d).size < 2:
        return f"the exposure takes one value ({d[0]:g}) on all {d.size} units"
    return None


@contextlib.contextmanager
def local_numpy_seed(seed: int) -> Iterator[None]:
    """Seed numpy's global RNG for DoubleML inside the block and restore the previous state after."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _sensitivity_warning(w: warnings.WarningMessage) -> bool:
    """DoubleML's notes while preparing the sensitivity bounds (re-estimated nu2, 0/0 when the bias bound is 0)."""
    return "The estimated nu2" in str(w.message) or (
        issubclass(w.category, RuntimeWarning) and "doubleml" in str(w.filename).replace("\\", "/")
    )


def confounder_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric confounders: categories one-hot encoded, booleans as 0/1, numeric NaN kept (LightGBM handles it)."""
    parts = []
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            parts.append(s.astype(float).rename(str(c)))
        else:
            parts.append(pd.get_dummies(s.astype("string").fillna("(missing)"), prefix=str(c), dtype=float))
    x = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)
    x.columns = [f"x{i}" for i in range(x.shape[1])]  # DoubleML and LightGBM want plain names
    return x


def _cluster_se(model, groups: np.ndarray) -> float:
    """Cluster-robust standard error of a one-coefficient DoubleML fit from its score (sums within groups)."""
    psi = model.psi[:, 0, 0]
    jac = float(np.mean(model.psi_deriv[:, 0, 0]))
    sums = pd.Series(psi).groupby(pd.factorize(pd.Series(groups))[0]).sum().to_numpy()
    return float(np.sqrt(np.sum(sums**2)) / (len(psi) * abs(jac)))


class IncrementalEffect(BaseEstimator):
    """Cross-fitted DML estimate of the incremental revenue from one exposure.

    Parameters
    ----------
    method: "irm_atte" (binary exposure, effect on the exposed) or "plr" (continuous intensity).
    n_folds, n_estimators, learning_rate, num_leaves, min_child_samples: cross-fitting and LightGBM
        settings (defaults are the smooth learners of STACK.md; `results()` uses fewer trees and folds).
    clip: propensities are clipped to [clip, 1 - clip] in the score.
    trim: when set, units whose cross-fitted propensity is outside [trim, 1 - trim] are dropped and the
        model refitted; the total is then scaled to all exposed units (stated in `assumptions_`).
    overlap_limit, overlap_bound: warn when more than `overlap_limit` of the exposed units have a
        propensity above `overlap_bound` (few comparable unexposed units).
    level: interval level.
    dose_strata: for "plr", fit within this many strata of the cross-fitted expected dose and sum the
        stratum totals (lets the effect per unit of dose differ between segments).
    dose_knots: for "plr", quantiles of the positive dose where the dose effect may bend (a linear
        spline, zero at zero dose); e.g. (0.5, 0.8). Empty: one slope. Excludes `dose_strata`.
    n_rep: repeated cross-fitting for the spline fit (median over fold splits, Chernozhukov et al. 2018).
    random_state: int or numpy Generator for folds and learner seeds.

    Fitted attributes: result_ (one row, columns `RESULT_COLUMNS`: the figures below), effect_ (ATT per
    exposed unit, or per unit of intensity), se_, ci_low_, ci_high_, total_, total_ci_low_, total_ci_high_,
    n_units_, n_exposed_, propensity_ (irm), overlap_warning_, robustness_value_, robustness_value_ci_,
    sensitivity_, assumptions_.
    """

    def __init__(
        self,
        method: str = "irm_atte",
        n_folds: int = 5,
        n_estimators: int = 500,
        learning_rate: float = 0.03,
        num_leaves: int = 7,
        min_child_samples: int = 50,
        clip: float = 0.01,
        trim: float | None = None,
        overlap_limit: float = 0.05,
        overlap_bound: float = 0.95,
        level: float = 0.9,
        dose_strata: int = 1,
        dose_knots: tuple[float, ...] = (),
        n_rep: int = 1,
        random_state: int | np.random.Generator | None = 0,
    ) -> None:
        self.method = method
        self.n_folds = n_folds
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.clip = clip
        self.trim = trim
        self.overlap_limit = overlap_limit
        self.overlap_bound = overlap_bound
        self.level = level
        self.dose_strata = dose_strata
        self.dose_knots = dose_knots
        self.n_rep = n_rep
        self.random_state = random_state

    # ------------------------------------------------------------------------------------------
    def _learners(self, seed: int) -> tuple:
        import lightgbm as lgb

        kw = {"n_estimators": self.n_estimators, "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
              "min_child_samples": self.min_child_samples, "subsample": 0.8, "subsample_freq": 1,
              "colsample_bytree": 0.9, "verbose": -1, "n_jobs": 1, "random_state": seed}  # fmt: skip
        if self.method == "irm_atte":
            return lgb.LGBMRegressor(**kw), lgb.LGBMClassifier(**kw)
        return lgb.LGBMRegressor(**kw), lgb.LGBMRegressor(**kw)

    def _fit_once(
        self,
        x: pd.DataFrame,
        d: np.ndarray,
        y: np.ndarray,
        rng: np.random.Generator,
        groups: np.ndarray | None = None,
    ):
        import doubleml as dml
        from doubleml.utils.propensity_score_processing import PSProcessorConfig

        frame = x.assign(_d=d, _y=y)
        data = dml.DoubleMLData(frame, "_y", "_d", list(x.columns))
        if groups is None:
            folds = rng.permutation(np.arange(len(frame)) % self.n_folds)
        else:  # whole groups (e.g. an account's periods) in one fold, so no unit is predicted from itself
            codes, _ = pd.factorize(pd.Series(groups))
            folds = rng.permutation(np.arange(codes.max() + 1) % self.n_folds)[codes]
        smpls = [(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in range(self.n_folds)]
        seed = int(rng.integers(2**31 - 1))
        ml_g, ml_m = self._learners(seed)
        if self.method == "irm_atte":
            model = dml.DoubleMLIRM(data, ml_g, ml_m, score="ATTE", draw_sample_splitting=False,
                                    ps_processor_config=PSProcessorConfig(clipping_threshold=self.clip))  # fmt: skip
        else:
            model = dml.DoubleMLPLR(data, ml_g, ml_m, draw_sample_splitting=False)
        model.set_sample_splitting(smpls)
        with local_numpy_seed(seed), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit()
        benign = [w for w in caught if _sensitivity_warning(w)]
        for w in caught:  # pass every other warning on unchanged
            if w not in benign:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        model.nu2_reestimated = bool(benign)
        return model

    def fit(
        self,
        confounders: pd.DataFrame,
        exposure: np.ndarray | pd.Series,
        outcome: np.ndarray | pd.Series,
        groups: np.ndarray | pd.Series | None = None,
    ) -> IncrementalEffect:
        """Fit on one row per unit: confounders (pre-exposure), exposure (0/1 or intensity), outcome (money).

        `groups` (irm_atte only): rows of one group (an account's periods in a panel) share a fold, and the
        standard error is cluster-robust over groups.
        """
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level}")
        rng = np.random.default_rng(self.random_state)
        x = confounder_matrix(confounders.reset_index(drop=True))
        d = np.asarray(exposure, dtype=float)
        y = np.asarray(outcome, dtype=float)
        if not len(x) == len(d) == len(y):
            raise ValueError("confounders, exposure and outcome must have one row per unit")
        binary = self.method == "irm_atte"
        if binary and not np.isin(d, (0.0, 1.0)).all():
            raise ValueError("irm_atte needs a 0/1 exposure; use method='plr' for intensities")
        n_exposed = int((d > 0).sum())
        if n_exposed < 2 or (binary and n_exposed > len(d) - 2):
            raise TooFewUnits(f"need exposed and unexposed units (exposed {n_exposed} of {len(d)})")
        problem = fit_problem(d, self.n_folds, binary, self.dose_strata if not binary else 1)
        if problem:
            raise TooFewUnits(problem)
        self.n_units_, self.n_exposed_ = len(d), n_exposed
        if not binary and self.dose_knots:
            if self.dose_strata > 1:
                raise ValueError("dose_knots and dose_strata > 1 cannot be combined")
            return self._fit_spline(x, d, y, rng)
        if not binary and self.dose_strata > 1:
            return self._fit_stratified(x, d, y, rng)
        if groups is not None and (not binary or self.trim or self.dose_strata > 1):
            raise ValueError("groups need method='irm_atte' without trimming")
        model = self._fit_once(x, d, y, rng, None if groups is None else np.asarray(groups))
        assumptions = [
            "no unmeasured confounding given the pre-exposure confounders",
            "overlap: exposed units have comparable unexposed units",
            "no interference between units",
        ]
        overlap, propensity, problems = {}, None, []
        scale = 1.0
        if binary:
            ps = model.predictions["ml_m"][:, 0, 0]
            propensity = ps
            exposed_extreme = float(np.mean(ps[d == 1] > self.overlap_bound))
            control_extreme = float(np.mean(ps[d == 0] < 1 - self.overlap_bound))
            overlap = {"exposed_without_comparable": exposed_extreme, "unexposed_outside": control_extreme,
                       "min_group": int(min(n_exposed, len(d) - n_exposed))}  # fmt: skip
            if exposed_extreme > self.overlap_limit:
                problems.append(
                    f"{exposed_extreme:.0%} of exposed units have propensity > {self.overlap_bound:.2f}"
                )
            if overlap["min_group"] < 30:
                problems.append(f"only {overlap['min_group']} units in the smaller group")
            if self.trim:
                keep = (ps >= self.trim) & (ps <= 1 - self.trim)
                if keep.sum() < len(d):
                    kept_exposed = int(d[keep].sum())
                    scale = n_exposed / max(kept_exposed, 1)
                    model = self._fit_once(x.loc[keep].reset_index(drop=True), d[keep], y[keep], rng)
                    assumptions.append(
                        f"propensity trimmed to [{self.trim}, {1 - self.trim}]: {len(d) - int(keep.sum())} units dropped; "
                        "dropped exposed units assumed to have the trimmed ATT"
                    )
            assumptions.append("estimand: n_exposed x ATT (effect on the exposed)")
            dose = n_exposed * scale
        else:
            assumptions.append(
                "linear, constant effect per unit of intensity (PLR); total = theta x sum of intensity"
            )
            dose = float(d.sum())
        effect = float(model.coef[0])
        se = float(model.se[0]) if groups is None else _cluster_se(model, np.asarray(groups))
        self._estimate(effect, se, effect * dose, None, dose)
        return self._conclude(robustness(model, self.level), assumptions, model, overlap, propensity,
                              "; ".join(problems))  # fmt: skip

    def _estimate(self, effect: float, se: float, total: float, total_se: float | None, dose: float) -> None:
        """Effect per unit and total with their intervals; without `total_se` the total's interval is the
        effect's times the dose (a constant effect per unit of dose)."""
        z = stats.norm.ppf(0.5 + self.level / 2)
        self.effect_, self.se_ = effect, se
        self.ci_low_, self.ci_high_ = effect - z * se, effect + z * se
        self.total_ = total
        if total_se is None:
            self.total_ci_low_, self.total_ci_high_ = self.ci_low_ * dose, self.ci_high_ * dose
        else:
            self.total_ci_low_, self.total_ci_high_ = total - z * total_se, total + z * total_se

    def _conclude(
        self,
        sens: dict,
        assumptions: list[str],
        model: object,
        overlap: dict | None = None,
        propensity: np.ndarray | None = None,
        overlap_warning: str = "",
    ) -> IncrementalEffect:
        """The sensitivity, overlap and assumptions of the fit, and `result_`: one row of every figure."""
        self.robustness_value_, self.robustness_value_ci_, self.sensitivity_ = (
            sens["rv"],
            sens["rva"],
            sens["text"],
        )
        self.overlap_, self.propensity_, self.overlap_warning_ = overlap or {}, propensity, overlap_warning
        self.assumptions_, self.model_ = assumptions, model
        figures = {c: getattr(self, f"{c}_", None) for c in RESULT_COLUMNS}
        figures.update(level=self.level, assumptions="; ".join(assumptions))
        self.result_ = pd.DataFrame([figures], columns=RESULT_COLUMNS)
        return self

    def _fit_stratified(self, x: pd.DataFrame, d: np.ndarray, y: np.ndarray, rng: np.random.Generator):
        """PLR within strata of the expected dose E[dose | confounders] (cross-fitted), totals summed.

        One PLR over all units weights each unit's slope by the conditional variance of its dose, which
        is largest where targeting sends the most touches; with effects that differ by segment that
        weighting, times the total dose, overstates the total. Strata make the weights explicit.
        """
        import lightgbm as lgb

        folds = rng.permutation(np.arange(len(d)) % self.n_folds)
        expected = np.empty(len(d))
        for k in range(self.n_folds):
            learner = lgb.LGBMRegressor(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                                        num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
                                        verbose=-1, n_jobs=1, random_state=int(rng.integers(2**31 - 1)))  # fmt: skip
            learner.fit(x.loc[folds != k], d[folds != k])
            expected[folds == k] = learner.predict(x.loc[folds == k])
        strata = pd.qcut(pd.Series(expected).rank(method="first"), self.dose_strata, labels=False).to_numpy()
        for g in range(self.dose_strata):
            if np.unique(d[strata == g]).size < 2:
                raise TooFewUnits(f"the dose does not vary within stratum {g + 1} of {self.dose_strata}")
        totals, variances, sens = [], [], []
        self.strata_models_ = []
        for g in range(self.dose_strata):
            s = strata == g
            model = self._fit_once(x.loc[s].reset_index(drop=True), d[s], y[s], rng)
            self.strata_models_.append((s, model))
            dose = float(d[s].sum())
            totals.append(float(model.coef[0]) * dose)
            variances.append((float(model.se[0]) * dose) ** 2)
            sens.append(robustness(model, self.level))
        dose = float(d.sum())
        total, se_total = float(sum(totals)), float(np.sqrt(sum(variances)))
        self._estimate(total / dose, se_total / dose, total, se_total, dose)
        weakest = min(sens, key=lambda r: r["rv"] if np.isfinite(r["rv"]) else np.inf)
        self._fit_data = ("strata", x, d, int(rng.integers(2**31 - 1)))
        assumptions = [
            "no unmeasured confounding given the pre-exposure confounders",
            "no interference between units",
            f"effect linear in the dose within each of {self.dose_strata} strata of the expected dose "
            "(PLR per stratum); total = sum over strata of theta x dose",
        ]
        weakest = dict(weakest, text=f"weakest of {self.dose_strata} strata: {weakest['text']}")
        return self._conclude(weakest, assumptions, None)

    def _crossfit(self, x: pd.DataFrame, target: np.ndarray, folds: np.ndarray, seed: int) -> np.ndarray:
        """Out-of-fold predictions of `target` from the confounders (the outcome learner's settings)."""
        from sklearn.base import clone

        learner = self._learners(seed)[0]
        out = np.empty(len(target))
        for k in range(self.n_folds):
            train = folds != k
            out[~train] = clone(learner).fit(x.loc[train], target[train]).predict(x.loc[~train])
        return out

    def _fit_spline(self, x: pd.DataFrame, d: np.ndarray, y: np.ndarray, rng: np.random.Generator):
        """PLR with a vector of dose terms: d and (d - knot)+ at quantiles of the positive dose.

        Every term is zero at zero dose, so the fitted effect of removing the exposure from unit i is
        sum_k theta_k phi_k(d_i) and the total is theta . (sum over units of phi). A single slope times
        the total dose overstates removal when the effect grows with the dose (touches that work only on
        top of others): the line's intercept is then negative and is silently dropped. The nuisances
        E[y | x] and E[phi_k | x] are cross-fitted with the same LightGBM learners as the DoubleML rows;
        the joint orthogonal score is solved by OLS of residuals with a heteroskedasticity-robust (HC1)
        covariance. (DoubleML's multi-treatment PLR partials out one treatment given the others, which is
        degenerate for terms that are functions of one dose; see docs/decisions.md.)
        """
        positive = d[d > 0]
        min_beyond = max(2 * self.n_folds, 10)
        knots = [k for k in np.unique(np.quantile(positive, self.dose_knots)) if (d > k).sum() >= min_beyond]
        basis = np.column_stack([d, *(np.clip(d - k, 0, None) for k in knots)])
        splits = []
        for _ in range(max(1, self.n_rep)):  # repeated cross-fitting: one fold split and seed per repetition
            folds = rng.permutation(np.arange(len(d)) % self.n_folds)
            seed = int(rng.integers(2**31 - 1))
            residual = np.column_stack(
                [b - self._crossfit(x, b, folds, seed + j) for j, b in enumerate(basis.T)]
            )
            splits.append((folds, seed, residual))
        scale = 1e-9 * max(1.0, float(np.abs(basis).max()))
        keep = np.all([r.std(axis=0) > scale for _, _, r in splits], axis=0)
        basis = basis[:, keep]
        splits = [(f, sd, r[:, keep]) for f, sd, r in splits]
        self.knots_ = [k for k, ok in zip(knots, keep[1:], strict=True) if ok]
        self._fit_data = ("spline", x, splits, basis)
        total, se, fit = self._spline_total(y)
        dose = float(d.sum())
        self.coef_ = np.asarray(fit.params, float)
        self._estimate(total / dose, se / dose, total, se, dose)
        sens = robustness_from_t(total / se if se > 0 else np.inf, len(d) - basis.shape[1], self.level)
        where = ", ".join(f"{k:g}" for k in self.knots_) or "none (too few units beyond them)"
        assumptions = [
            "no unmeasured confounding given the pre-exposure confounders",
            "no interference between units",
            f"effect a linear spline in the dose, zero at zero dose (knots at {where} touches); "
            "total = sum over units of the fitted effect of their own dose",
        ]
        return self._conclude(sens, assumptions, fit)

    def _spline_total(self, outcome: np.ndarray) -> tuple[float, float, object]:
        """Total and standard error on `outcome`; over repeated splits the median total and the variance
        median of (se_r^2 + (total_r - total)^2) (Chernozhukov et al. 2018, median aggregation)."""
        import statsmodels.api as sm

        _, x, splits, basis = self._fit_data
        weights = basis.sum(axis=0)
        totals, variances, fits = [], [], []
        for folds, seed, residual in splits:
            y_res = outcome - self._crossfit(x, outcome, folds, seed + 997)
            fit = sm.OLS(y_res, residual).fit(cov_type="HC1")
            totals.append(float(weights @ fit.params))
            variances.append(float(weights @ fit.cov_params() @ weights))
            fits.append(fit)
        total = float(np.median(totals))
        se = float(np.sqrt(np.median(np.asarray(variances) + (np.asarray(totals) - total) ** 2)))
        return total, se, fits[int(np.argsort(totals)[len(totals) // 2])]

    def total_for(self, outcome: np.ndarray | pd.Series) -> tuple[float, float]:
        """Total effect and its standard error on another outcome, reusing the fitted strata, folds and dose model.

        Only for a PLR fitted with `dose_strata` > 1 or `dose_knots`: the outcome learner is refitted
        (per stratum, DoubleML with the dose predictions passed as external predictions; or once, for
        the spline) and the dose side is reused.
        """
        import doubleml as dml

        if self._fit_data[0] == "spline":
            total, se, _ = self._spline_total(np.asarray(outcome, dtype=float))
            return total, se
        _, x, d, seed = self._fit_data
        y = np.asarray(outcome, dtype=float)
        total, variance = 0.0, 0.0
        for s, fitted in self.strata_models_:
            xs = x.loc[s].reset_index(drop=True)
            data = dml.DoubleMLData(xs.assign(_d=d[s], _y=y[s]), "_y", "_d", list(xs.columns))
            ml_l, ml_m = self._learners(seed)
            model = dml.DoubleMLPLR(data, ml_l, ml_m, draw_sample_splitting=False)
            model.set_sample_splitting(fitted.smpls[0])
            with local_numpy_seed(seed), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                model.fit(external_predictions={"_d": {"ml_m": fitted.predictions["ml_m"][:, :, 0]}})
            dose = float(d[s].sum())
            total += float(model.coef[0]) * dose
            variance += (float(model.se[0]) * dose) ** 2
        return total, float(np.sqrt(variance))
