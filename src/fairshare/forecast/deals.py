"""Deal forecast: this period's bookings from a per-deal win model trained on past snapshots.

1. **Open deals.** P(won inside the remaining R days) per open opportunity from a logistic
   regression on point-in-time snapshots (`history.DealHistory.snapshot`): stage, days in stage
   against the typical time, deal age, amount, activity recency and volume, stakeholders engaged,
   the owner's shrunk win rate and load, and the window length. Training rows are snapshots every
   `snapshot_days` before `as_of`, each with windows of `horizons` days and to the end of its own
   period, labelled won/not won in the window, and only windows that ended by `as_of` (their label
   was known then). The stage curve of `PipelineForecast` (Aalen–Johansen, P(won within the window)
   by days in stage) known at the snapshot is one of the features; with fewer than
   `min_train_wins` positive rows it is the probability.
2. **Pipeline not created yet.** Per lead source (`source_team`), a negative-binomial count of
   deals created in the remaining days at the source's run-rate (deals created in the last three
   `run_rate_half_life_days`, each weighted 0.5^(age / half-life), over the same weighting of
   days; flat over `lookback_days` when no half-life is set; dispersion from the weekly creation
   counts), each won in time with the pooled share ∫ CIF₀, amount bootstrapped from past wins,
   owner drawn from the source's recent (weighted) creation shares.
3. **Dispersion.** Deals of one quarter win or lose together more than independent coins (market,
   quarter-end push). Each draw shifts every deal's logit by z ~ N(0, σ) and scales the
   new-pipeline rate by exp(z); σ is the random-intercept sd that maximises the likelihood of the
   past snapshot windows (one group per snapshot).
4. **Calibration.** What the model does not know about itself (misspecification, estimation error)
   is measured by the backtest: `interval_scale` k stretches every draw around the median,
   P50 + k·(x − P50) (never below what is booked), and `backtest.interval_scale` fits k so that 80%
   of past forecasts would have held the actual (split conformal on normalised residuals).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from fairshare.errors import AreaMissing
from fairshare.forecast.history import DAY, DealHistory, SnapshotBlock
from fairshare.forecast.pipeline import TOTAL, WinCurve, latest_commits, summarize
from fairshare.forecast.target import forecast_period
from fairshare.periods import naive_utc

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

DEAL_COLUMNS = ["opportunity_id", "rep_id", "stage_index", "age_days", "amount", "probability", "expected"]
NUMERIC = ["days_in_stage", "stage_overdue", "age_days", "log_amount", "activities_recent", "activities_total",
           "account_activities", "days_since_activity", "contacts_active", "stakeholders_engaged", "rep_win_logit",
           "rep_open_deals"]  # fmt: skip
GRID_ORIGIN = pd.Timestamp("2000-01-03")
MAX_TRAIN_ROWS = 20_000  # snapshot times are on one weekly grid, so backtests reuse them


class DealForecast(BaseEstimator):
    """Monte Carlo forecast of a period's bookings from per-deal win probabilities (module docstring).

    After `fit(ws, as_of)`: `result_` (FORECAST_COLUMNS, one row per rep plus `rep_id = "all"`, the
    shape of `PipelineForecast`), `deals_` (DEAL_COLUMNS, one row per open deal), `draws_`,
    `sigma_` (the fitted dispersion), `train_rows_`, `as_of_`, `period_`, `bounds_`.
    """

    def __init__(
        self,
        period: str = "quarter",
        level: float = 0.9,
        n_draws: int = 4000,
        random_state: int | None = 0,
        snapshot_days: int = 7,
        horizons: tuple[int, ...] = (30, 60, 90),
        lookback_days: float | None = None,
        min_train_wins: int = 15,
        min_remaining_days: float | None = None,
        interval_scale: float | None = None,
        periods_ahead: int = 0,
        C: float = 0.3,
        extra_blocks: tuple[SnapshotBlock, ...] = (),
    ):
        self.period = period
        self.level = level
        self.n_draws = n_draws
        self.random_state = random_state
        self.snapshot_days = snapshot_days
        self.horizons = horizons
        self.lookback_days = lookback_days
        self.min_train_wins = min_train_wins
        self.min_remaining_days = min_remaining_days
        self.interval_scale = interval_scale
        self.periods_ahead = periods_ahead
        self.C = C
        self.extra_blocks = extra_blocks

    # --- training rows ----------------------------------------------------------------------------------

    def _snapshot(self, history: DealHistory, s: pd.Timestamp) -> pd.DataFrame:
        cache = history.__dict__.setdefault("_snapshots", {})
        key = (s, tuple(self.extra_blocks))
        if key not in cache:
            history.extra_blocks = self.extra_blocks
            cache[key] = history.snapshot(s)
        return cache[key]

    def _window(self, history: DealHistory, s: pd.Timestamp, h: float, n_stages: int):
        """Design rows and labels (won within h days of s) of the deals open at `s` (cached per window:
        they do not depend on the forecast's as-of, only on events up to s + h)."""
        cache = history.__dict__.setdefault("_windows", {})
        key = (s, h, tuple(self.extra_blocks))
        if key not in cache:
            snap = self._snapshot(history, s)
            if snap.empty:
                cache[key] = None
            else:
                if "_won_at" not in history.__dict__:  # close time of every won deal, once per history
                    history.__dict__["_won_at"] = history.opps[history.opps["is_won"]].set_index(
                        "opportunity_id"
                    )["closed_at"]
                won = history.__dict__["_won_at"]
                closed = pd.to_datetime(won.reindex(snap["opportunity_id"]).to_numpy())
                frame = snap.assign(horizon_days=h, curve=history.curve_probability(s, snap, h))
                label = np.asarray((closed > s) & (closed <= s + h * DAY))
                cache[key] = (self._design(frame, n_stages), label)
        return cache[key]

    def _training(self, history: DealHistory, at: pd.Timestamp, n_stages: int):
        """Design rows, labels and group (snapshot number of the period-end windows, -1 for the fixed
        ones) of the snapshot windows that ended by `at`."""
        first = history.opps["created_at"].min()
        if pd.isna(first):
            return np.zeros((0, 1)), np.zeros(0, bool), np.zeros(0, int)
        step = pd.Timedelta(days=self.snapshot_days)
        k0 = int(np.ceil((first - GRID_ORIGIN) / step))
        k1 = int(np.floor((at - GRID_ORIGIN) / step))
        xs, ys, gs = [], [], []
        for k in range(k0, k1 + 1):
            s = GRID_ORIGIN + k * step
            _, _, end = forecast_period(s, self.period, 0.0)
            windows = [(float(h), -1) for h in self.horizons] + [((pd.Timestamp(end) - s) / DAY, k)]
            for h, group in windows:
                if s + h * DAY > at or h <= 0:
                    continue
                rows = self._window(history, s, h, n_stages)
                if rows is None:
                    break
                xs.append(rows[0])
                ys.append(rows[1])
                gs.append(np.full(len(rows[1]), group))
        if not xs:
            return np.zeros((0, 1)), np.zeros(0, bool), np.zeros(0, int)
        return np.vstack(xs), np.concatenate(ys), np.concatenate(gs)

    def _design(self, frame: pd.DataFrame, n_stages: int) -> np.ndarray:
        x = [np.log1p(frame[c].clip(lower=0).to_numpy(float)) if c not in ("rep_win_logit",) else
             frame[c].to_numpy(float) for c in NUMERIC]  # fmt: skip
        log_h = np.log(frame["horizon_days"].to_numpy(float))
        curve = logit(np.clip(frame["curve"].to_numpy(float), 0.005, 0.995))
        stage = frame["stage_index"].to_numpy(float)
        onehot = [(stage == i).astype(float) for i in range(-1, n_stages)]
        return np.column_stack([curve, *x, log_h, *onehot])

    # --- fit ------------------------------------------------------------------------------------------------

    def fit(self, ws: Workspace, as_of: dt.datetime | str | None = None, history: DealHistory | None = None):
        """Forecast the period open at `as_of` (the next one when fewer than `min_remaining_days` are left),
        or the one `periods_ahead` after it."""
        settings = ws.definitions.forecast
        min_remaining = (
            settings.min_remaining_days if self.min_remaining_days is None else self.min_remaining_days
        )
        rng = np.random.default_rng(self.random_state)
        scale = settings.interval_scale if self.interval_scale is None else self.interval_scale
        self.half_life_days_ = settings.run_rate_half_life_days
        default_window = 3 * self.half_life_days_ if self.half_life_days_ else settings.lookback_days
        self.lookback_days_ = default_window if self.lookback_days is None else self.lookback_days
        if history is None:
            history = DealHistory.of(ws)
        if history.opps.empty and int(ws.table("opportunities").count().execute()) == 0:
            raise AreaMissing(
                "no opportunities in the warehouse (nothing open, no history): "
                "import opportunities.csv to forecast bookings"
            )
        at = pd.Timestamp(naive_utc(as_of) if as_of is not None else history.latest)
        label, start, end = forecast_period(at, self.period, min_remaining, ahead=self.periods_ahead)
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        remaining = max((end - at) / DAY, 0.0)
        window = max((end - max(at, start)) / DAY, 0.0)  # days of the period still to book

        snap = self._snapshot(history, at)
        n_stages = len(history.stage_names)
        X, y, groups = self._training(history, at, n_stages)
        self.train_rows_ = len(y)
        model = None
        if int(y.sum()) >= self.min_train_wins and not snap.empty:
            if len(y) > MAX_TRAIN_ROWS:  # large books: a fixed random subset keeps the fit fast
                keep = np.sort(np.random.default_rng(0).choice(len(y), MAX_TRAIN_ROWS, replace=False))
                X, y, groups = X[keep], y[keep], groups[keep]
            mean, sd = X.mean(axis=0), X.std(axis=0) + 1e-9
            model = LogisticRegression(C=self.C, max_iter=2000).fit((X - mean) / sd, y)
            sigma = _random_intercept_sd(y, groups, model.predict_proba((X - mean) / sd)[:, 1])
            self.method_ = "deal model"
        else:
            sigma = 0.3
            self.method_ = "stage curves"

        def within(h: float) -> np.ndarray:  # P(won within h days of `at`) per open deal
            if h <= 0 or snap.empty:
                return np.zeros(len(snap))
            frame = snap.assign(horizon_days=h, curve=history.curve_probability(at, snap, h))
            if model is None:
                return frame["curve"].to_numpy(float)
            return model.predict_proba((self._design(frame, n_stages) - mean) / sd)[:, 1]

        lead = max((start - at) / DAY, 0.0)  # the next period: wins before it starts do not count
        prob = np.clip(within(remaining) - within(lead), 0.0, 1.0)
        self.sigma_ = sigma
        prob = np.clip(prob, 1e-6, 1 - 1e-6)
        n = self.n_draws
        z = rng.normal(0.0, self.sigma_, size=n) if self.sigma_ > 0 else np.zeros(n)

        reps_open = snap["rep_id"].to_numpy() if len(snap) else np.zeros(0, object)
        booked = history.won_between(start, at + pd.Timedelta(microseconds=1))
        new_draw, new_reps, new_amounts, expected_new = self._new_pipeline(history, at, window, lead, z, rng)
        commits = latest_commits(ws, label, at)
        reps = sorted(set(reps_open) | set(booked["rep_id"]) | set(new_reps) | set(commits.index))
        col = {r: j for j, r in enumerate(reps)}
        draws = np.zeros((n, len(reps)))
        expected_open = np.zeros(len(reps))
        amount = snap["amount"].to_numpy(float) if len(snap) else np.zeros(0)
        group = np.array([col[r] for r in reps_open], dtype=int)
        lo = logit(prob)
        for c0 in range(0, len(prob), 256):
            sl = slice(c0, c0 + 256)
            p = expit(lo[sl][None, :] + z[:, None])
            hit = (rng.random(p.shape) < p) * amount[sl]
            np.add.at(draws.T, group[sl], hit.T)
            np.add.at(expected_open, group[sl], (p * amount[sl]).mean(axis=0))
        if new_draw.size:
            np.add.at(draws, (new_draw, np.array([col[r] for r in new_reps], dtype=int)), new_amounts)
        base = booked.groupby("rep_id")["amount"].sum().reindex(reps, fill_value=0.0).to_numpy(float)
        draws += base
        exp_new = np.array([expected_new.get(r, 0.0) for r in reps])
        self.deals_ = pd.DataFrame({
            "opportunity_id": snap.get("opportunity_id", pd.Series(dtype=object)).to_numpy(),
            "rep_id": reps_open, "stage_index": snap.get("stage_index", pd.Series(dtype=float)).to_numpy(),
            "age_days": snap.get("age_days", pd.Series(dtype=float)).to_numpy(), "amount": amount,
            "probability": prob, "expected": prob * amount,
        }, columns=DEAL_COLUMNS)  # fmt: skip
        draws = np.hstack([draws, draws.sum(axis=1, keepdims=True)])
        if scale != 1.0:  # each rep and the total stretched on its own
            draws = stretch(draws, scale, np.append(base, base.sum()))
        self.draws_ = pd.DataFrame(draws, columns=[*reps, TOTAL])
        self.as_of_, self.period_, self.bounds_ = (
            at.to_pydatetime(),
            label,
            (start.to_pydatetime(), end.to_pydatetime()),
        )
        open_by_rep = self.deals_.groupby("rep_id")["amount"].agg(["size", "sum"])
        self.result_ = summarize(self.draws_, commits, base, expected_open, exp_new, open_by_rep, label, at,
                                 remaining, self.level)  # fmt: skip
        return self

    def _new_pipeline(
        self, history: DealHistory, at: pd.Timestamp, window: float, lead: float, z: np.ndarray, rng
    ):
        """Deals created after `at` and won inside the period: counts per draw, their owners and amounts."""
        n = z.size
        opps = history.opps[history.opps["created_at"] <= at]
        empty = (np.zeros(0, int), np.zeros(0, object), np.zeros(0), {})
        if opps.empty or window <= 0:
            return empty
        known = opps.assign(event=np.where(opps["closed_at"] <= at, np.where(opps["is_won"], 1, 2), 0))
        end = known["closed_at"].where(known["closed_at"] <= at, at)
        pooled = WinCurve().fit(
            ((end - known["created_at"]) / DAY).to_numpy(float), known["event"].to_numpy()
        )
        horizon = window + lead  # created over [at, end), won inside [start, end)
        u = (np.arange(200) + 0.5) / 200 * horizon
        share = float((pooled.cif(horizon - u) - pooled.cif(lead - u)).mean()) if horizon > 0 else 0.0
        wins = known[known["event"] == 1]["amount"].to_numpy(float)
        if share <= 0 or wins.size == 0:
            return empty
        span = min(self.lookback_days_, max((at - opps["created_at"].min()) / DAY, 1.0))
        recent = opps[opps["created_at"] > at - span * DAY]
        half = self.half_life_days_
        age = ((at - recent["created_at"]) / DAY).to_numpy(float)
        weight = pd.Series(0.5 ** (age / half) if half else np.ones(age.size), index=recent.index)
        exposure = half / np.log(2) * (1 - 0.5 ** (span / half)) if half else span  # weighted days
        weekly = np.histogram(((at - opps["created_at"]) / DAY).to_numpy(float),
                              np.arange(0, max(span, 7.0) + 7, 7.0))[0].astype(float)  # fmt: skip
        m, v = weekly.mean(), weekly.var(ddof=1) if weekly.size > 1 else 0.0
        phi = max(0.0, (v - m) / m**2) if m > 0 else 0.0  # NB: var = m + phi m^2
        draw_of, owners, expected = [], [], {}
        for _, rows in recent.groupby("source"):
            rate = rng.gamma(
                weight[rows.index].sum() + 0.5, 1.0 / exposure, size=n
            )  # the run-rate is uncertain
            lam = rate * (window + lead) * share * np.exp(z - self.sigma_**2 / 2)
            if phi > 0:
                lam = lam * rng.gamma(1 / phi, phi, size=n)
            k = rng.poisson(lam)
            by_rep = weight[rows.index].groupby(rows["rep_id"]).sum()
            shares = by_rep / by_rep.sum()
            draw_of.append(np.repeat(np.arange(n), k))
            owners.append(rng.choice(shares.index.to_numpy(), size=int(k.sum()), p=shares.to_numpy()))
            for r, sh in shares.items():
                expected[r] = expected.get(r, 0.0) + float(lam.mean()) * sh * float(wins.mean())
        draws = np.concatenate(draw_of) if draw_of else np.zeros(0, int)
        amounts = wins[rng.integers(wins.size, size=draws.size)]
        return draws, np.concatenate(owners) if owners else np.zeros(0, object), amounts, expected


def stretch(draws: np.ndarray, scale: float, floor: np.ndarray | float = 0.0) -> np.ndarray:
    """Draws stretched around their column medians by `scale`, never below `floor` (booked to date)."""
    median = np.median(draws, axis=0, keepdims=True)
    return np.maximum(median + scale * (draws - median), floor)


def _random_intercept_sd(
    won: np.ndarray, groups: np.ndarray, fitted: np.ndarray, grid: np.ndarray | None = None
) -> float:
    """The sd σ of a shared logit shift per snapshot window (period-end windows) maximising the
    marginal likelihood of their wins (Gauss–Hermite over the shift); 0 when there are < 3 groups."""
    mask = groups >= 0
    if mask.sum() == 0 or np.unique(groups[mask]).size < 3:
        return 0.0
    grid = np.linspace(0.0, 1.5, 16) if grid is None else grid
    nodes, weights = np.polynomial.hermite_e.hermegauss(21)
    weights = weights / weights.sum()
    y = won.astype(float)[mask]
    lo = logit(np.clip(fitted[mask], 1e-6, 1 - 1e-6))
    g = pd.factorize(groups[mask])[0]
    best, best_ll = 0.0, -np.inf
    for sigma in grid:
        p = expit(lo[:, None] + sigma * nodes[None, :])
        ll_row = y[:, None] * np.log(p) + (1 - y[:, None]) * np.log1p(-p)
        per_group = np.zeros((g.max() + 1, nodes.size))
        np.add.at(per_group, g, ll_row)
        top = per_group.max(axis=1, keepdims=True)
        ll = float((top[:, 0] + np.log(np.exp(per_group - top) @ weights)).sum())
        if ll > best_ll:
            best, best_ll = float(sigma), ll
    return best
