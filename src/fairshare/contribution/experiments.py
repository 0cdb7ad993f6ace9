"""Experiments on groups of reps, leads or accounts: design (randomization, power) and analysis.

Design
    `assign_arms` randomizes units into arms within strata (blocked, balanced, reproducible from a
    numpy Generator) and returns rows in the canonical `experiments` table format.
    `power` / `minimum_detectable_effect` give the power of a two-arm comparison for n units with
    outcome standard deviation sd; when whole clusters are randomized (e.g. leads grouped by rep)
    the variance is inflated by the design effect 1 + (m - 1) * ICC and the t reference uses the
    number of clusters. `simulated_power` checks both by brute force (vectorized).

Analysis
    `ExperimentAnalysis` estimates each arm's lift over the control arm with statsmodels OLS:
    difference in means (HC2 = Welch standard errors, or cluster-robust CR1 by `cluster`) and,
    with pre-period covariates, regression adjustment (Lin 2013: treatment x centred covariates)
    or CUPED (common slope). Intervals are ci_low / ci_high at `level` (90% by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import optimize, stats
from sklearn.base import BaseEstimator

from fairshare.schema import UNIT_TYPES

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

EXPERIMENT_COLUMNS = ["experiment_id", "unit_type", "unit_id", "arm", "assigned_at"]
RESULT_COLUMNS = [
    "arm", "control", "outcome", "method", "estimate", "se", "ci_low", "ci_high", "level", "p_value",
    "n_treated", "n_control", "n_clusters", "mean_treated", "mean_control", "relative_lift",
]  # fmt: skip
ADJUSTMENTS = ("regression_adjustment", "cuped")


# --------------------------------------------------------------------------------------------- design
def assign_arms(
    units: pd.DataFrame | Sequence[str],
    *,
    experiment_id: str,
    unit_type: str,
    rng: np.random.Generator,
    arms: Sequence[str] = ("control", "treatment"),
    ratio: Sequence[int] | None = None,
    unit_col: str = "unit_id",
    strata: Sequence[str] = (),
    assigned_at: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Blocked randomization of `units` into `arms`, in the canonical experiments table format.

    Within each stratum (the distinct values of the `strata` columns) the arm labels are laid out
    in the proportions of `ratio` (equal by default), the remainder is drawn at random, and the
    labels are shuffled over the stratum's units. The same Generator state gives the same assignment.
    """
    if unit_type not in UNIT_TYPES:
        raise ValueError(f"unit_type must be one of {UNIT_TYPES}, got {unit_type!r}")
    arms = list(arms)
    if len(arms) < 2 or len(set(arms)) != len(arms):
        raise ValueError(f"need at least two distinct arms, got {arms}")
    ratio = [1] * len(arms) if ratio is None else [int(r) for r in ratio]
    if len(ratio) != len(arms) or min(ratio) < 1:
        raise ValueError("ratio must give a positive integer per arm")
    frame = pd.DataFrame({unit_col: list(units)}) if not isinstance(units, pd.DataFrame) else units
    missing = [c for c in [unit_col, *strata] if c not in frame.columns]
    if missing:
        raise ValueError(f"units lack column(s) {missing}; available: {list(frame.columns)}")
    if frame[unit_col].duplicated().any():
        raise ValueError(
            f"{unit_col} must be unique; duplicated: {frame[unit_col][frame[unit_col].duplicated()].head(3).tolist()}"
        )
    frame = frame.sort_values([*strata, unit_col], kind="stable").reset_index(drop=True)
    block = np.repeat(np.arange(len(arms)), ratio)
    labels = np.full(len(frame), -1)
    groups = (
        frame.groupby(list(strata), sort=True, dropna=False).indices.values()
        if strata
        else [np.arange(len(frame))]
    )
    for idx in groups:
        k = len(idx)
        full, rest = divmod(k, len(block))
        lab = np.concatenate([np.tile(block, full), rng.permutation(block)[:rest]])
        labels[rng.permutation(idx)] = lab
    out = pd.DataFrame(
        {
            "experiment_id": experiment_id,
            "unit_type": unit_type,
            "unit_id": frame[unit_col].astype(str).to_numpy(),
            "arm": np.asarray(arms, dtype=object)[labels],
            "assigned_at": pd.Timestamp(assigned_at)
            if assigned_at is not None
            else pd.Timestamp.now("UTC").tz_localize(None).floor("s"),
        }
    )
    for c in strata:
        out[c] = frame[c].to_numpy()
    return out


def design_effect(cluster_size: float = 1.0, icc: float = 0.0) -> float:
    """Variance inflation when whole clusters of `cluster_size` units are randomized: 1 + (m - 1) * ICC."""
    if cluster_size < 1 or not 0 <= icc <= 1:
        raise ValueError("cluster_size must be >= 1 and icc in [0, 1]")
    return 1.0 + (cluster_size - 1.0) * icc


def _standard_error(
    n: int, sd: float, treated_share: float, cluster_size: float, icc: float
) -> tuple[float, float]:
    if n < 4 or sd <= 0 or not 0 < treated_share < 1:
        raise ValueError("need n >= 4, sd > 0 and 0 < treated_share < 1")
    se = sd * np.sqrt(design_effect(cluster_size, icc) / (n * treated_share * (1 - treated_share)))
    df = (n / cluster_size if cluster_size > 1 else n) - 2
    if df < 1:
        raise ValueError("too few clusters for a comparison")
    return float(se), float(df)


def power(
    effect: float,
    *,
    n: int,
    sd: float,
    alpha: float = 0.05,
    treated_share: float = 0.5,
    cluster_size: float = 1.0,
    icc: float = 0.0,
) -> float:
    """Power of the two-sided t-test of a lift `effect` with n units (noncentral t).

    With cluster_size > 1, whole clusters (e.g. reps with their leads) are randomized: the variance
    grows by the design effect and the degrees of freedom are n / cluster_size - 2.
    """
    return _power(effect, n, sd, alpha, treated_share, cluster_size, icc)


def _power(
    effect: float, n: int, sd: float, alpha: float, treated_share: float, cluster_size: float, icc: float
) -> float:
    se, df = _standard_error(n, sd, treated_share, cluster_size, icc)
    crit = stats.t.ppf(1 - alpha / 2, df)
    nc = abs(effect) / se
    return float(np.nan_to_num(stats.nct.sf(crit, df, nc)) + np.nan_to_num(stats.nct.sf(crit, df, -nc)))


def minimum_detectable_effect(
    *,
    n: int,
    sd: float,
    alpha: float = 0.05,
    power: float = 0.8,
    treated_share: float = 0.5,
    cluster_size: float = 1.0,
    icc: float = 0.0,
) -> float:
    """Smallest lift detected with probability `power` (two-sided level `alpha`)."""
    if not alpha < power < 1:
        raise ValueError(f"power must be in (alpha, 1), got {power}")
    se, _ = _standard_error(n, sd, treated_share, cluster_size, icc)
    return float(
        optimize.brentq(
            lambda e: _power(e, n, sd, alpha, treated_share, cluster_size, icc) - power, 1e-9 * se, 12 * se
        )
    )


def simulated_power(
    effect: float,
    *,
    n: int,
    sd: float,
    rng: np.random.Generator,
    alpha: float = 0.05,
    treated_share: float = 0.5,
    cluster_size: int = 1,
    icc: float = 0.0,
    n_sims: int = 2000,
) -> float:
    """Share of `n_sims` simulated randomizations in which the analysis rejects 'no effect'.

    Each simulation draws outcomes (cluster effect with variance icc*sd², unit noise with the rest),
    randomizes whole clusters, and runs the same test as `ExperimentAnalysis` without covariates:
    difference in means with HC2 (Welch) or, for clusters, CR1 cluster-robust standard errors and a
    t reference with (clusters - 1) degrees of freedom. Vectorized over simulations.
    """
    m = int(cluster_size)
    g = n // m
    n_t = int(round(g * treated_share))
    if not 2 <= n_t <= g - 2:
        raise ValueError("need at least two clusters per arm")
    u = rng.normal(0.0, sd * np.sqrt(icc), size=(n_sims, g, 1))
    y = u + rng.normal(0.0, sd * np.sqrt(1 - icc), size=(n_sims, g, m))
    treated = rng.permuted(np.tile(np.arange(g) < n_t, (n_sims, 1)), axis=1)
    y = y + effect * treated[:, :, None]
    est, se, df = _lift_t_tests(y, treated)
    return float(np.mean(np.abs(est / se) > stats.t.ppf(1 - alpha / 2, df)))


def _lift_t_tests(y: np.ndarray, treated: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Difference in means with HC2 (m == 1) or CR1 (m > 1) standard errors, vectorized.

    y has shape (sims, clusters, m) with equal cluster sizes m, treated shape (sims, clusters).
    Returns estimates, standard errors and the t degrees of freedom, as statsmodels computes them
    in `ExperimentAnalysis` (HC2 with n - 2 df; cluster-robust CR1 with clusters - 1 df).
    """
    g, m = y.shape[1], y.shape[2]
    n_t = treated.sum(axis=1)
    n_c = g - n_t
    cm = y.mean(axis=2)
    mt = np.where(treated, cm, 0).sum(1) / n_t
    mc = np.where(~treated, cm, 0).sum(1) / n_c
    dev_t = np.where(treated, (cm - mt[:, None]) ** 2, 0).sum(1)
    dev_c = np.where(~treated, (cm - mc[:, None]) ** 2, 0).sum(1)
    if m == 1:
        se = np.sqrt(dev_t / (n_t - 1) / n_t + dev_c / (n_c - 1) / n_c)
        return mt - mc, se, g - 2
    big_n = g * m
    se = np.sqrt((dev_t / n_t**2 + dev_c / n_c**2) * g / (g - 1) * (big_n - 1) / (big_n - 2))
    return mt - mc, se, g - 1


# ------------------------------------------------------------------------------------------- analysis
def _covariate_matrix(frame: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Numeric design columns for `covariates`: categories one-hot (first dropped), NaN → mean + flag."""
    parts = []
    for c in covariates:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            x = s.astype(float)
            if x.isna().any():
                parts.append(x.isna().astype(float).rename(f"{c}__missing"))
                x = x.fillna(x.mean())
            parts.append(x.rename(c))
        else:
            parts.append(
                pd.get_dummies(s.astype("string").fillna("(missing)"), prefix=c, drop_first=True, dtype=float)
            )
    x = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)
    return x.loc[:, x.std(ddof=0) > 0]


class ExperimentAnalysis(BaseEstimator):
    """Lift of each arm over the control arm, with intervals.

    Parameters
    ----------
    control: name of the control arm (default: "control" when present, else the first arm in sort order).
    arm: column naming each unit's arm; outcome: column with the (numeric) outcome.
    covariates: pre-period columns for the adjusted estimate (numeric or categorical).
    cluster: column with the cluster of each unit (e.g. rep_id); standard errors become cluster-robust.
    level: interval level.
    adjustment: "regression_adjustment" (Lin 2013, interacted, robust to heterogeneous slopes) or
        "cuped" (one pooled slope per covariate).

    After `fit`, `result_` has one row per (arm, method) with columns RESULT_COLUMNS: the
    difference in means always, plus the adjusted estimate when covariates are given.
    """

    def __init__(
        self,
        control: str | None = None,
        covariates: Sequence[str] = (),
        cluster: str | None = None,
        level: float = 0.9,
        adjustment: str = "regression_adjustment",
        arm: str = "arm",
        outcome: str = "outcome",
    ) -> None:
        self.control = control
        self.covariates = covariates
        self.cluster = cluster
        self.level = level
        self.adjustment = adjustment
        self.arm = arm
        self.outcome = outcome

    def fit(self, frame: pd.DataFrame) -> ExperimentAnalysis:
        """One row per unit with the `arm` and `outcome` columns (and any covariates, cluster)."""
        import statsmodels.api as sm

        arm, outcome = self.arm, self.outcome
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level}")
        if self.adjustment not in ADJUSTMENTS:
            raise ValueError(f"adjustment must be one of {ADJUSTMENTS}, got {self.adjustment!r}")
        covariates = list(self.covariates)
        needed = [arm, outcome, *covariates, *([self.cluster] if self.cluster else [])]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ValueError(f"column(s) {missing} not found; available: {list(frame.columns)}")
        data = frame.loc[frame[outcome].notna() & frame[arm].notna()].copy()
        if not pd.api.types.is_numeric_dtype(data[outcome]) and not pd.api.types.is_bool_dtype(data[outcome]):
            raise ValueError(f"outcome {outcome!r} must be numeric")
        data[outcome] = data[outcome].astype(float)
        arms = sorted(data[arm].astype(str).unique())
        data[arm] = data[arm].astype(str)
        control = self.control if self.control is not None else ("control" if "control" in arms else arms[0])
        if control not in arms:
            raise ValueError(f"control arm {control!r} not among arms {arms}")
        if len(arms) < 2:
            raise ValueError(f"need at least two arms, found {arms}")
        alpha = 1 - self.level
        rows = []
        for treated_arm in [a for a in arms if a != control]:
            sub = data.loc[data[arm].isin([control, treated_arm])]
            d = (sub[arm] == treated_arm).astype(float).to_numpy()
            y = sub[outcome].to_numpy()
            designs = {"difference_in_means": np.column_stack([np.ones_like(d), d])}
            if covariates:
                x = _covariate_matrix(sub, covariates).to_numpy()
                xc = x - x.mean(axis=0)
                extra = (
                    np.column_stack([xc, xc * d[:, None]])
                    if self.adjustment == "regression_adjustment"
                    else xc
                )
                designs[self.adjustment] = np.column_stack([np.ones_like(d), d, extra])
            if self.cluster:
                groups = pd.factorize(sub[self.cluster])[0]
                fit_kw = {"cov_type": "cluster", "cov_kwds": {"groups": groups}, "use_t": True}
                n_clusters = int(groups.max() + 1)
            else:
                fit_kw = {"cov_type": "HC2", "use_t": True}
                n_clusters = np.nan
            mean_t, mean_c = float(y[d == 1].mean()), float(y[d == 0].mean())
            for method, design in designs.items():
                res = sm.OLS(y, design).fit(**fit_kw)
                lo, hi = res.conf_int(alpha=alpha)[1]
                est = float(res.params[1])
                rows.append(
                    {
                        "arm": treated_arm, "control": control, "outcome": outcome, "method": method,
                        "estimate": est, "se": float(res.bse[1]), "ci_low": float(lo), "ci_high": float(hi),
                        "level": self.level, "p_value": float(res.pvalues[1]),
                        "n_treated": int(d.sum()), "n_control": int((1 - d).sum()), "n_clusters": n_clusters,
                        "mean_treated": mean_t, "mean_control": mean_c,
                        "relative_lift": est / mean_c if mean_c != 0 else np.nan,
                    }
                )  # fmt: skip
        self.control_ = control
        self.arms_ = arms
        self.result_ = pd.DataFrame(rows, columns=RESULT_COLUMNS)
        return self


def analyze(
    frame: pd.DataFrame,
    arm: str,
    outcomes: str | Sequence[str],
    *,
    control: str | None = None,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    level: float = 0.9,
    adjustment: str = "regression_adjustment",
) -> pd.DataFrame:
    """`ExperimentAnalysis` over one or several outcome columns, results stacked."""
    outcomes = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    frames = [
        ExperimentAnalysis(control, covariates, cluster, level, adjustment, arm=arm, outcome=y)
        .fit(frame)
        .result_
        for y in outcomes
    ]
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------------------- workspace
_OUTCOME_KEY = {"rep": "owner_rep_id", "lead": "lead_id", "account": "account_id"}


def experiment_units(ws: Workspace, experiment_id: str | None = None) -> pd.DataFrame:
    """One row per assigned unit with its won revenue after assignment and in an equally long pre-period.

    Won revenue counts won opportunities closed after `assigned_at` (rep: owned by the rep; lead: from
    the lead; account: of the account); `pre_won_revenue` counts those closed in the same length of time
    before it (the CUPED covariate). Opportunities are pulled as per-unit sums from the warehouse.
    """
    import ibis
    from ibis import _

    exp = ws.table("experiments")
    if experiment_id is not None:
        exp = exp.filter(_.experiment_id == experiment_id)
    units = exp.execute()
    if units.empty:
        return units.assign(won_revenue=pd.Series(dtype=float), pre_won_revenue=pd.Series(dtype=float))
    opps = ws.table("opportunities").filter(_.is_won.fill_null(False) & _.closed_at.notnull())
    end = opps.closed_at.max().execute()
    parts = []
    for (eid, unit_type), group in units.groupby(["experiment_id", "unit_type"], sort=True):
        key = _OUTCOME_KEY[unit_type]
        e = exp.filter((_.experiment_id == eid) & (_.unit_type == unit_type))
        start = e.assigned_at.min().execute()
        start = (
            pd.Timestamp(start)
            if start is not None and not pd.isna(start)
            else opps.closed_at.min().execute()
        )
        length = pd.Timestamp(end) - pd.Timestamp(start) if end is not None else pd.Timedelta(0)
        j = e.join(opps, e.unit_id == opps[key])
        at = ibis.coalesce(j.assigned_at, ibis.literal(pd.Timestamp(start).to_pydatetime()))
        post = (
            j.filter(j.closed_at >= at)
            .group_by("unit_id")
            .agg(won_revenue=_.amount.sum(), won_deals=_.count())
        )
        pre = (
            j.filter(
                (j.closed_at < at) & (j.closed_at >= at - ibis.interval(seconds=int(length.total_seconds())))
            )
            .group_by("unit_id")
            .agg(pre_won_revenue=_.amount.sum())
        )
        g = group.merge(post.execute(), on="unit_id", how="left").merge(
            pre.execute(), on="unit_id", how="left"
        )
        parts.append(g)
    frame = pd.concat(parts, ignore_index=True)
    for c in ("won_revenue", "pre_won_revenue"):
        frame[c] = frame[c].fillna(0.0).astype(float)
    frame["won_deals"] = frame["won_deals"].fillna(0).astype(int)
    return frame


def workspace_experiment(ws: Workspace, level: float = 0.9) -> pd.DataFrame | None:
    """Lift in won revenue per unit of every experiment in the workspace (None when there is none).

    Columns: experiment_id, unit_type, then RESULT_COLUMNS. CUPED/regression adjustment on the
    pre-period won revenue is added when the pre-period has any revenue.
    """
    units = experiment_units(ws)
    if units.empty:
        return None
    frames = []
    for (eid, unit_type), group in units.groupby(["experiment_id", "unit_type"], sort=True):
        if group["arm"].nunique() < 2 or group["arm"].value_counts().min() < 2:
            continue  # an arm with one unit has no variance to compare against
        covariates = ["pre_won_revenue"] if group["pre_won_revenue"].std() > 0 else []
        res = ExperimentAnalysis(covariates=covariates, level=level, outcome="won_revenue").fit(group).result_
        frames.append(res.assign(experiment_id=eid, unit_type=unit_type))
    if not frames:
        return None
    out = pd.concat(frames, ignore_index=True)
    return out[["experiment_id", "unit_type", *RESULT_COLUMNS]]
