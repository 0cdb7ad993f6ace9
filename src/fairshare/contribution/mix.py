"""Marketing-mix model of total inbound demand: what would demand (and revenue) have been without the spend?

Identified by variation of spend over weeks (and regions) that an account's own demand does not drive:
budget changes and flights. The outcome is *all* inbound demand (marketing, organic, direct, referral
leads), so demand that would have arrived anyway is not credited to marketing. Model (PyMC-Marketing /
Meridian form, fitted without MCMC): per channel a normalised geometric adstock and a logistic
saturation, additive nonnegative channel effects, controls for trend, yearly season and region fixed
effects. Channel shapes are chosen from a grid, coefficients by nonnegative ridge regression, and
intervals come from a moving-block bootstrap over weeks (shape choice included). The removal effect of a
channel is the demand its adstocked, saturated spend explains; in money it is the lost demand times the
value of an inbound lead (docs/contribution.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import optimize

from fairshare.contribution.demand import SPEND_PREFIX
from fairshare.contribution.mix_calibration import calibrate

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

RESULT_COLUMNS = [
    "unit", "key", "estimate", "ci_low", "ci_high", "identified", "reason", "method", "level",
    "lost", "lost_ci_low", "lost_ci_high", "share", "independent_variation", "mix_estimate", "mix_ci_low",
    "mix_ci_high", "lift_estimate", "lift_ci_low", "lift_ci_high", "proposal", "assumptions",
]  # fmt: skip
METHOD = "mmm_adstock_saturation_nnridge"


def geometric_adstock(x: np.ndarray, decay: float, max_lag: int) -> np.ndarray:
    """Carry-over: x_t spread over t..t+max_lag-1 with weights decay^l, normalised to sum 1 (axis 0 = time)."""
    w = decay ** np.arange(max_lag)
    w = w / w.sum()
    out = np.zeros_like(x, dtype=float)
    for lag, wl in enumerate(w):
        out[lag:] += wl * x[: len(x) - lag]
    return out


def logistic_saturation(u: np.ndarray, lam: float) -> np.ndarray:
    """(1 - e^(-lam u)) / (1 + e^(-lam u)): 0 at 0, slope lam/2 there, levels off towards 1."""
    e = np.exp(-lam * u)
    return (1 - e) / (1 + e)


def channel_names(frame: pd.DataFrame) -> list[str]:
    """Channels of a weekly frame: the `spend__<channel>` columns."""
    return [c[len(SPEND_PREFIX) :] for c in frame.columns if c.startswith(SPEND_PREFIX)]


class MixModel:
    """Marketing-mix model of weekly (x region) inbound demand; removal effects of all marketing and each channel.

    Parameters
    ----------
    adstock_max_lag: weeks over which spend carries over (geometric weights, normalised).
    decays: candidate adstock decays (weekly retention) per channel.
    saturations: candidate logistic saturation rates lam on spend scaled to the channel's largest
        adstocked week (lam ~ 0.5: almost linear; 8: saturated above a fifth of the top week).
    alpha: ridge penalty on the channel coefficients, relative to their average squared norm.
    seasonality_order: yearly Fourier terms (used when the frame spans at least two years).
    trend_knots: hinge knots of the piecewise-linear trend (None: one per half year).
    controls: extra control columns of the frame (events, promotions, competitor activity).
    n_boot: moving-block bootstrap draws over weeks; block_weeks: block length.
    level: interval level.
    min_weeks, min_independent_variation, max_width_share: the identification criterion: enough weeks,
        the share of a channel's (saturated) spend variance not explained by the controls and the other
        channels, and an interval no wider than this share of all inbound demand.
    max_extrapolation: removing a unit whose adstocked spend never falls below this share of its average
        (lowest decile of weeks) extrapolates the response curve to zero: reported as not identified.
    holdout_weeks: length of the holdout proposed when a unit is not identified.
    burn_in_weeks: first weeks left out of the fit (their adstock lacks the spend before the data;
        None: adstock_max_lag - 1); their lost demand still counts.
    random_state: seed of the bootstrap.

    `fit(frame)` takes one row per week (and region): `week`, optional `region`, the outcome column
    (`leads`), `spend__<channel>` columns, optional `won_revenue` (won revenue of the inbound leads
    created that week) and `maturity` (share of a cohort's eventual revenue closed by the end of the data).
    After `fit`, `result_` has one row per unit (`marketing`/`all`, `channel`/<name>) with RESULT_COLUMNS.
    """

    def __init__(
        self,
        adstock_max_lag: int = 8,
        decays: Sequence[float] = (0.0, 0.2, 0.4, 0.6, 0.8),
        saturations: Sequence[float] = (0.5, 1.0, 2.0, 4.0, 8.0),
        alpha: float = 0.01,
        seasonality_order: int = 2,
        trend_knots: int | None = None,
        controls: Sequence[str] = (),
        outcome: str = "leads",
        n_boot: int = 200,
        block_weeks: int = 6,
        level: float = 0.9,
        min_weeks: int = 26,
        min_independent_variation: float = 0.1,
        max_width_share: float = 0.5,
        max_extrapolation: float = 0.6,
        holdout_weeks: int = 8,
        burn_in_weeks: int | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.adstock_max_lag = adstock_max_lag
        self.decays = decays
        self.saturations = saturations
        self.alpha = alpha
        self.seasonality_order = seasonality_order
        self.trend_knots = trend_knots
        self.controls = controls
        self.outcome = outcome
        self.n_boot = n_boot
        self.block_weeks = block_weeks
        self.level = level
        self.min_weeks = min_weeks
        self.min_independent_variation = min_independent_variation
        self.max_width_share = max_width_share
        self.max_extrapolation = max_extrapolation
        self.holdout_weeks = holdout_weeks
        self.burn_in_weeks = burn_in_weeks
        self.random_state = random_state

    # ------------------------------------------------------------------------------------- design
    def _prepare(self, frame: pd.DataFrame) -> None:
        need = ["week", self.outcome, *self.controls]
        missing = [c for c in need if c not in frame.columns]
        if missing:
            raise ValueError(f"weekly frame lacks column(s) {missing}; has {list(frame.columns)}")
        self.channels_ = channel_names(frame)
        if not self.channels_:
            raise ValueError(f"weekly frame has no {SPEND_PREFIX}<channel> spend columns")
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level}")
        f = frame.copy()
        f["week"] = pd.to_datetime(f["week"])
        if "region" not in f:
            f["region"] = "all"
        f["region"] = f["region"].astype(str)
        # a complete week x region grid (a week without leads or spend is a zero, not a gap)
        weeks = pd.date_range(f["week"].min(), f["week"].max(), freq="7D")
        grid = pd.MultiIndex.from_product([weeks, sorted(f["region"].unique())], names=["week", "region"])
        f = f.groupby(["week", "region"]).sum(numeric_only=True).reindex(grid, fill_value=0.0).reset_index()
        if "maturity" in frame:
            f["maturity"] = f["maturity"].where(f["maturity"] > 0, 1.0)
        self.frame_ = f
        self.weeks_ = weeks
        self.regions_ = sorted(f["region"].unique())
        n_w, n_r = len(weeks), len(self.regions_)
        self.week_index_ = np.repeat(np.arange(n_w), n_r)  # rows are week-major, regions inside
        spend = np.stack([f[SPEND_PREFIX + c].to_numpy(float).reshape(n_w, n_r) for c in self.channels_])
        self.spend_ = spend  # channels x weeks x regions
        # candidate features: channel x (decay, lam) x rows
        self.grid_ = [(d, s) for d in self.decays for s in self.saturations]
        feats = np.empty((len(self.channels_), len(self.grid_), n_w * n_r))
        for c in range(len(self.channels_)):
            for di, d in enumerate(self.decays):
                a = geometric_adstock(spend[c], d, self.adstock_max_lag)
                top = a.max()
                for si, s in enumerate(self.saturations):
                    u = a / top if top > 0 else a
                    feats[c, di * len(self.saturations) + si] = logistic_saturation(u, s).ravel()
        self.features_ = feats
        self.control_matrix_ = self._control_matrix(f, n_w, n_r)
        self.y_ = f[self.outcome].to_numpy(float)

    def _control_matrix(self, f: pd.DataFrame, n_w: int, n_r: int) -> np.ndarray:
        t = self.week_index_.astype(float) / max(n_w - 1, 1)
        cols = [pd.get_dummies(f["region"], dtype=float).to_numpy(), t[:, None]]  # region fixed effects
        knots = self.trend_knots if self.trend_knots is not None else max(0, int(n_w // 26) - 1)
        for k in range(1, knots + 1):
            cols.append(np.clip(t - k / (knots + 1), 0, None)[:, None])
        if n_w >= 104 and self.seasonality_order > 0:
            doy = f["week"].dt.day_of_year.to_numpy(float) / 365.25
            for k in range(1, self.seasonality_order + 1):
                cols += [np.sin(2 * np.pi * k * doy)[:, None], np.cos(2 * np.pi * k * doy)[:, None]]
        for c in self.controls:
            cols.append(f[c].to_numpy(float)[:, None])
        x = np.hstack(cols)
        keep = x.std(axis=0) > 0
        keep[:n_r] = True  # fixed effects stay even with a single region
        return x[:, keep]

    # ---------------------------------------------------------------------------------------- fit
    def _solve(self, y: np.ndarray, controls: np.ndarray, feats: np.ndarray, start: np.ndarray | None,
               sweeps: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Shapes (grid index per channel) by coordinate descent, coefficients by nonnegative ridge (FWL)."""
        q, _ = np.linalg.qr(controls)
        ry = y - q @ (q.T @ y)
        n_c, n_g, n = feats.shape
        flat = feats.reshape(n_c * n_g, n).T
        rf = flat - q @ (q.T @ flat)
        scale = np.sqrt((rf**2).sum(axis=0)) + 1e-12  # unit-norm candidate columns
        rf = rf / scale
        gram, cross = rf.T @ rf, rf.T @ ry  # all candidates at once: each trial below is k x k
        ridge = self.alpha * np.eye(n_c)
        choice = np.full(n_c, len(self.grid_) // 2) if start is None else start.copy()
        first, jitter = np.arange(n_c) * n_g, 1e-10 * np.eye(n_c)  # built once: nnls runs ~150 times a solve

        solved: dict[bytes, tuple[np.ndarray, float]] = {}  # a sweep retries the current choice

        def nnls(idx: np.ndarray) -> tuple[np.ndarray, float]:
            key = idx.tobytes()
            if key not in solved:
                sel = first + idx
                g, c = gram[sel[:, None], sel] + ridge, cross[sel]
                low = np.linalg.cholesky(g + jitter)
                b, _ = optimize.nnls(low.T, np.linalg.solve(low, c))
                solved[key] = b / scale[sel], float(b @ g @ b - 2 * b @ c)  # penalised SSE up to a constant
            return solved[key]

        for _ in range(sweeps):
            changed = False
            for c in range(n_c):
                best, best_r = choice[c], np.inf
                for g in range(n_g):
                    trial = choice.copy()
                    trial[c] = g
                    _, r = nnls(trial)
                    if r < best_r - 1e-9:
                        best, best_r = g, r
                changed |= best != choice[c]
                choice[c] = best
            if not changed:
                break
        coef, _ = nnls(choice)
        return choice, coef

    def fit(self, frame: pd.DataFrame, lift_tests: pd.DataFrame | None = None) -> MixModel:
        """Fit on a weekly (x region) frame; `lift_tests` (unit, key, estimate, ci_low, ci_high in money,
        optional `weeks_from`) calibrate the matching rows (precision-weighted, as a lift-test likelihood)."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # many small solves: BLAS threads only add contention
            return self._fit(frame, lift_tests)

    def _fit(self, frame: pd.DataFrame, lift_tests: pd.DataFrame | None) -> MixModel:
        self._prepare(frame)
        n_w, n_r = len(self.weeks_), len(self.regions_)
        y, ctrl, feats = self.y_, self.control_matrix_, self.features_
        burn = self.adstock_max_lag - 1 if self.burn_in_weeks is None else self.burn_in_weeks
        burn = min(burn, max(0, n_w - self.min_weeks))
        fitted = np.arange(burn * n_r, n_w * n_r)
        self.burn_in_ = burn
        self.choice_, self.coef_ = self._solve(y[fitted], ctrl[fitted], feats[:, :, fitted], None, sweeps=3)
        idx = np.arange(len(self.channels_))
        self.contribution_ = self.coef_[:, None] * feats[idx, self.choice_]  # channels x rows
        self.residual_sd_ = float(
            np.std(y - self.contribution_.sum(axis=0) - ctrl @ np.linalg.lstsq(
                ctrl, y - self.contribution_.sum(axis=0), rcond=None)[0])
        )  # fmt: skip
        rng = np.random.default_rng(self.random_state)
        n_fit = n_w - burn
        block = max(1, min(self.block_weeks, n_fit))
        draws = np.empty((self.n_boot, len(self.channels_)))
        value_draws = np.empty(self.n_boot)
        for b in range(self.n_boot):
            starts = burn + rng.integers(0, n_fit - block + 1, size=int(np.ceil(n_fit / block)))
            wk = (starts[:, None] + np.arange(block)[None, :]).ravel()[:n_fit]
            rows = (wk[:, None] * n_r + np.arange(n_r)[None, :]).ravel()
            ch, co = self._solve(y[rows], ctrl[rows], feats[:, :, rows], self.choice_, sweeps=1)
            draws[b] = co * feats[idx, ch].sum(axis=1)  # lost demand over the observed period
            value_draws[b] = self._lead_value(rows)
        self.boot_lost_ = draws
        self.boot_value_ = value_draws
        self.independent_variation_ = self._independent_variation()
        self.result_ = self._result(lift_tests)
        return self

    # ---------------------------------------------------------------------------------- revenue
    def _lead_value(self, rows: np.ndarray | None = None) -> float:
        """Won revenue per inbound lead of a mature cohort: sum(won revenue) / sum(leads x maturity)."""
        f = self.frame_
        if "won_revenue" not in f:
            return np.nan
        rows = np.arange(len(f)) if rows is None else rows
        maturity = f["maturity"].to_numpy(float)[rows] if "maturity" in f else np.ones(rows.size)
        denom = (self.y_[rows] * maturity).sum()
        return float(f["won_revenue"].to_numpy(float)[rows].sum() / denom) if denom > 0 else np.nan

    def _independent_variation(self) -> dict[str, float]:
        """Share of each channel's fitted feature variance (and of all marketing's) left by controls and others."""
        idx = np.arange(len(self.channels_))
        z = self.features_[idx, self.choice_]
        ctrl = self.control_matrix_
        out = {}
        for c, name in enumerate(self.channels_):
            others = np.hstack([ctrl, np.delete(z, c, axis=0).T])
            out[name] = _unexplained(z[c], others)
        out["all"] = _unexplained(self.contribution_.sum(axis=0), ctrl)
        return out

    def _result(self, lift_tests: pd.DataFrame | None) -> pd.DataFrame:
        f = self.frame_
        maturity = f["maturity"].to_numpy(float) if "maturity" in f else np.ones(len(f))
        value = self._lead_value()
        money = not np.isnan(value)
        lo_q, hi_q = 0.5 - self.level / 2, 0.5 + self.level / 2
        total = float(self.y_.sum())
        n_w, n_r = len(self.weeks_), len(self.regions_)
        units = [("marketing", "all", np.arange(len(self.channels_))),
                 *(("channel", c, np.array([i])) for i, c in enumerate(self.channels_))]  # fmt: skip
        rows = []
        for unit, key, ch in units:
            per_row = self.contribution_[ch].sum(axis=0)
            # logical bound: no unit removes more than all inbound demand
            lost = min(float(per_row.sum()), total)
            boot = np.minimum(self.boot_lost_[:, ch].sum(axis=1), total)
            lost_lo, lost_hi = (float(v) for v in np.quantile(boot, [lo_q, hi_q]))
            lost_lo, lost_hi = min(lost_lo, lost), max(lost_hi, lost)
            if money:
                # in-period revenue: lost leads of each week times the mature lead value times the week's maturity
                matured = float((per_row * maturity).sum()) / max(float(per_row.sum()), 1e-12)
                won = float(f["won_revenue"].sum())
                rev_boot = np.minimum(boot * self.boot_value_ * matured, won)
                est = min(lost * value * matured, won)
                lo, hi = (float(v) for v in np.quantile(rev_boot, [lo_q, hi_q]))
                lo, hi = min(lo, est), max(hi, est)
            else:
                est, lo, hi = lost, lost_lo, lost_hi
            indep = self.independent_variation_[key if unit == "channel" else "all"]
            reasons = []
            if float(per_row.sum()) > total:
                reasons.append(
                    f"the fitted response to spend ({float(per_row.sum()):,.0f} leads) exceeds all inbound demand "
                    f"({total:,.0f}): the short-run response (demand pulled forward, captured) overstates what "
                    "switching it off removes"
                )  # fmt: skip
            if n_w < self.min_weeks:
                reasons.append(f"only {n_w} weeks of data (need {self.min_weeks})")
            if indep < self.min_independent_variation:
                reasons.append(
                    f"spend does not vary independently of trend, season{', regions' if n_r > 1 else ''} and the "
                    f"other channels ({indep:.0%} of its variation left, need {self.min_independent_variation:.0%})"
                )  # fmt: skip
            if lost_hi - lost_lo > self.max_width_share * total:
                reasons.append(
                    f"interval too wide: {lost_lo:,.0f} to {lost_hi:,.0f} lost of {total:,.0f} inbound "
                    f"(wider than {self.max_width_share:.0%} of all inbound demand)"
                )  # fmt: skip
            low = self._lowest_spend(ch)
            if low > self.max_extrapolation:
                reasons.append(
                    f"spend never falls near zero (lowest decile of weeks at {low:.0%} of the average), so switching "
                    "it off extrapolates the response curve"
                )  # fmt: skip
            identified = not reasons
            rows.append({
                "unit": unit, "key": key, "estimate": est, "ci_low": lo, "ci_high": hi,
                "identified": identified, "reason": "; ".join(reasons), "method": METHOD, "level": self.level,
                "lost": lost, "lost_ci_low": lost_lo, "lost_ci_high": lost_hi, "share": lost / total if total else np.nan,
                "independent_variation": indep, "mix_estimate": est, "mix_ci_low": lo, "mix_ci_high": hi,
                "lift_estimate": np.nan, "lift_ci_low": np.nan, "lift_ci_high": np.nan,
                "proposal": "" if identified else self.proposal(key if unit == "channel" else "all marketing"),
                "assumptions": self._assumptions(ch, money, value),
            })  # fmt: skip
        table = pd.DataFrame(rows, columns=RESULT_COLUMNS)
        if lift_tests is not None and len(lift_tests):
            table = calibrate(table, lift_tests, self.level)
        return table

    def removal_share(self, key: str, since: pd.Timestamp) -> float:
        """Share of a unit's in-period revenue effect that falls in the weeks from `since` (key "all" or a channel)."""
        ch = np.arange(len(self.channels_)) if key == "all" else np.array([self.channels_.index(key)])
        f = self.frame_
        maturity = f["maturity"].to_numpy(float) if "maturity" in f else np.ones(len(f))
        per_row = self.contribution_[ch].sum(axis=0) * maturity
        total = per_row.sum()
        return (
            float(per_row[(f["week"] >= pd.Timestamp(since)).to_numpy()].sum() / total) if total > 0 else 0.0
        )

    def _lowest_spend(self, ch: np.ndarray) -> float:
        """Lowest decile of the unit's adstocked spend per fitted row, relative to its mean (0 = it went dark)."""
        idx = np.arange(len(self.channels_))
        z = self.features_[idx, self.choice_][ch]  # saturated features are 0 exactly at zero spend
        rel = (z / np.maximum(z.mean(axis=1, keepdims=True), 1e-12)).mean(axis=0)[
            self.burn_in_ * len(self.regions_) :
        ]
        return float(np.quantile(rel, 0.1)) if rel.size else 0.0

    def _assumptions(self, ch: np.ndarray, money: bool, value: float) -> str:
        shapes = ", ".join(
            f"{self.channels_[c]}: decay {self.grid_[self.choice_[c]][0]:g}, saturation {self.grid_[self.choice_[c]][1]:g}"
            for c in ch
        )  # fmt: skip
        parts = [
            f"identified by spend variation over {len(self.weeks_)} weeks x {len(self.regions_)} region(s) that "
            "inbound demand does not drive (no budget set in reaction to demand)",
            "outcome: all inbound leads (every source); effects additive over channels",
            f"adstock/saturation ({shapes}); interval: moving-block bootstrap over weeks ({self.block_weeks}-week "
            f"blocks, {self.n_boot} draws, shapes re-chosen)",
        ]
        if money:
            parts.append(
                f"revenue = lost leads x won revenue per inbound lead ({value:,.0f} per mature lead, scaled by each "
                "week's cohort maturity): a lost (marginal) lead is assumed worth the average inbound lead"
            )  # fmt: skip
        return "; ".join(parts)

    # ----------------------------------------------------------------------------------- design
    def proposal(self, target: str) -> str:
        """The holdout that would settle `target`: its minimum detectable change in weekly inbound leads."""
        from fairshare.contribution.experiments import minimum_detectable_effect

        n_r, weeks = len(self.regions_), self.holdout_weeks
        per_cell = float(self.y_.mean())
        sd = max(self.residual_sd_, 1e-9)
        if n_r >= 4:
            n = n_r * weeks
            mde = minimum_detectable_effect(n=n, sd=sd, cluster_size=weeks, icc=0.1)
            design = (f"geo holdout: switch {target} off in half of the {n_r} regions (randomized) for {weeks} weeks; "
                      f"detects (80% power, 5% two-sided) a change of {mde:,.1f} inbound leads per region-week "
                      f"({mde / per_cell:.0%} of the average)")  # fmt: skip
        else:
            n = 2 * weeks
            mde = minimum_detectable_effect(n=n * n_r, sd=sd)
            design = (f"time holdout (switchback): switch {target} off in randomly chosen weeks, {weeks} weeks on and "
                      f"{weeks} off; detects (80% power, 5% two-sided) a change of {mde:,.1f} inbound leads per week"
                      f"{' and region' if n_r > 1 else ''} ({mde / per_cell:.0%} of the average)")  # fmt: skip
        return design + "; or an account holdout (experiments table, unit_type account, arms holdout/control)"


def _unexplained(z: np.ndarray, x: np.ndarray) -> float:
    """1 - R^2 of z on x (with intercept through x's fixed effects); 0 when z is constant."""
    var = z.var()
    if var <= 0:
        return 0.0
    resid = z - x @ np.linalg.lstsq(x, z, rcond=None)[0]
    return float(resid.var() / var)


def mix_strategies(ws: Workspace, *, level: float = 0.9, random_state: int = 0, **params) -> pd.DataFrame:
    """The mix-model strategy for the contribution table: rows `marketing`/`all` and `channel`/<name>.

    Builds the weekly (x region) frame from the warehouse (`demand.weekly_demand`), fits `MixModel`
    (`params` override its defaults), and calibrates with randomized account holdouts of the experiments
    table (`demand.holdout_lifts`) when there are any. Returns `result_` (RESULT_COLUMNS: estimate and
    interval in money = in-period won revenue lost with the unit switched off; `identified`, `reason`,
    `proposal`; `mix_*` and `lift_*` the two measurements) plus `n_units` (week x region cells),
    `period_start`, `period_end`. No spend or no inbound leads: an empty frame with these columns.
    """
    from fairshare.contribution.demand import holdout_lifts, weekly_demand

    columns = [*RESULT_COLUMNS, "n_units", "period_start", "period_end"]
    frame = weekly_demand(ws)
    if frame.empty or not channel_names(frame) or frame["leads"].sum() <= 0:
        return pd.DataFrame(columns=columns)
    model = MixModel(level=level, random_state=random_state, **params)
    model.fit(frame)
    lifts = holdout_lifts(ws, model, level)
    if lifts is not None and len(lifts):
        model.result_ = calibrate(model.result_, lifts, level)
        # logical bound for the experiment's number too: never more than all won revenue
        won = float(
            ws.table("opportunities").filter(lambda t: t.is_won.fill_null(False)).amount.sum().execute() or 0
        )
        for c in ("estimate", "ci_low", "ci_high"):
            model.result_[c] = model.result_[c].clip(upper=won)
    out = model.result_.assign(
        n_units=len(model.frame_),
        period_start=frame.attrs["period_start"],
        period_end=frame.attrs["period_end"],
    )
    return out[columns]
