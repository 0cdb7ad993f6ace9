"""Pipeline forecast: what will we book this period (P10/P50/P90), per rep and in total, vs the commit.

Monte Carlo over two sources of bookings still to come, on top of what is booked to date:

1. **Open opportunities.** Each opportunity open at `as_of` closes won inside the period with a
   probability from its current stage and its age in that stage, times its amount. The probability
   is the empirical conversion of past opportunities that entered the same stage: an Aalen–Johansen
   estimate (competing risks won / lost, still-open deals censored at `as_of`) of the cumulative
   incidence of a win `d` days after entering the stage, CIF(d), and of still being open, S(d):

       P(won within the R remaining days | in the stage for a days) = (CIF(a + R) − CIF(a)) / S(a)

   A stage with fewer than `min_spells` past entries, or an opportunity without a known stage (no
   lifecycle rows, or none with a stage of the definitions), uses the pooled curve from opportunity
   creation (age = days since creation). Ages beyond the last
   one with `min_at_risk` deals still open are capped there.
2. **New pipeline.** Opportunities created after `as_of` and won before the period ends: per rep a
   Poisson count with a gamma-distributed creation rate (shape n + ½, rate L: the n opportunities
   the rep created in the last `lookback_days` = L days) times the expected share won in time,
   ∫₀ᴿ CIF₀(R − u) du / R with CIF₀ the pooled curve from creation; amounts bootstrapped from the
   rep's past wins (all reps' wins when the rep has fewer than `min_wins`).
3. **Win-rate uncertainty.** Each draw scales every probability (and the new-pipeline count) of a
   rep by (pooled win rate drawn from its Beta posterior) × (the rep's win rate drawn from
   Beta(won + k·p̄, lost + k·(1 − p̄)), k = `rep_prior` pseudo-deals at the pooled rate p̄), both
   divided by p̄: a rep who closes better than the team gets higher odds, and deals of one rep move
   together. Without it the per-rep intervals were too narrow in the backtest (see docs/forecast.md).
4. **Common shocks** (`common_shocks=True`, off by default): month-to-month swings beyond chance in
   the history (creation counts beyond Poisson, win rates beyond binomial) become per-draw
   multipliers shared by every rep. On the simulator they made the total's interval 60% wider and
   over-cover (93% for 80%), so they are opt-in, for data with seasonality the simulator lacks.

Point in time: only data known at `as_of` is used: opportunities created by then, closes (won or
lost) dated by then, lifecycle rows by then, forecasts submitted by then. Amounts are the current
ones (the warehouse keeps no amount history). The commit is the latest `commit` forecast row the
rep submitted for the period by `as_of`; `commit_percentile` is where it falls in the simulated
distribution (high = optimistic, low = sandbagging).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import ibis
import numpy as np
import pandas as pd
from ibis import _
from sklearn.base import BaseEstimator

from fairshare.errors import AreaMissing
from fairshare.funnel import Funnel
from fairshare.periods import ONE_DAY as DAY
from fairshare.periods import PERIODS, naive_utc, period_bounds, period_label

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

TOTAL = "all"  # rep_id of the total row
NO_OWNER = "(none)"  # rep_id of opportunities without an owner

FORECAST_COLUMNS = [
    "rep_id", "period", "as_of", "remaining_days", "booked_to_date", "open_opportunities", "open_pipeline",
    "expected_from_open", "expected_from_new", "p10", "p50", "p90", "mean", "ci_low", "ci_high", "commit",
    "best_case", "commit_gap", "commit_percentile",
]  # fmt: skip
STAGE_COLUMNS = ["stage", "entries", "won", "lost", "open", "win_within_remaining", "curve"]
OPEN_COLUMNS = ["opportunity_id", "rep_id", "stage", "age_days", "amount", "probability", "curve"]


class WinCurve(BaseEstimator):
    """Aalen–Johansen curves of one group of spells: at each event time, deals at risk, S and CIF(won).

    After `fit`: `times_`, `at_risk_`, `survival_`, `won_` (CIF of a win) as arrays, `entries_` (spells),
    and `result_` (time, at_risk, survival, won) as a table. `min_at_risk`: ages beyond the last time
    with this many deals still open are capped there.
    """

    def __init__(self, min_at_risk: int = 10):
        self.min_at_risk = min_at_risk

    def fit(self, durations: np.ndarray, events: np.ndarray) -> WinCurve:
        """`durations` in days from entry to close (or to `as_of` when still open); `events` 1 = won,
        2 = lost, 0 = still open (censored)."""
        d = np.asarray(durations, float)
        e = np.asarray(events, int)
        keep = d >= 0
        d, e = d[keep], e[keep]
        times = np.unique(d[e > 0])
        self.entries_ = int(d.size)
        if times.size == 0:
            empty = np.zeros(0)
            self.times_, self.at_risk_, self.survival_, self.won_ = empty, empty, empty, empty
        else:
            order = np.sort(d)
            at_risk = d.size - np.searchsorted(order, times, side="left")
            won = np.bincount(np.searchsorted(times, d[e == 1]), minlength=times.size)[: times.size]
            lost = np.bincount(np.searchsorted(times, d[e == 2]), minlength=times.size)[: times.size]
            hazard = (won + lost) / at_risk
            survival = np.cumprod(1.0 - hazard)
            before = np.concatenate([[1.0], survival[:-1]])
            self.times_, self.at_risk_ = times, at_risk.astype(float)
            self.survival_, self.won_ = survival, np.cumsum(before * won / at_risk)
        self.result_ = pd.DataFrame(
            {"time": self.times_, "at_risk": self.at_risk_, "survival": self.survival_, "won": self.won_}
        )
        return self

    def _at(self, values: np.ndarray, x: np.ndarray, start: float) -> np.ndarray:
        i = np.searchsorted(self.times_, x, side="right") - 1
        return np.where(i >= 0, values[np.clip(i, 0, None)] if values.size else start, start)

    def probability(self, age: np.ndarray, remaining: float) -> np.ndarray:
        """P(won within `remaining` days | still open `age` days after entry)."""
        age = np.asarray(age, float)
        if self.times_.size == 0:
            return np.zeros_like(age)
        reliable = self.times_[self.at_risk_ >= self.min_at_risk]
        cap = reliable.max() if reliable.size else 0.0
        a = np.clip(age, 0.0, cap)
        s = self._at(self.survival_, a, 1.0)
        gain = self._at(self.won_, a + remaining, 0.0) - self._at(self.won_, a, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(s > 1e-9, gain / s, 0.0)
        return np.clip(p, 0.0, 1.0)

    def cif(self, days: np.ndarray) -> np.ndarray:
        """Cumulative incidence of a win `days` after entry (0 for days <= 0)."""
        d = np.asarray(days, float)
        if self.times_.size == 0:
            return np.zeros_like(d)
        return np.where(d > 0, self._at(self.won_, d, 0.0), 0.0)

    def mean_won_within(self, horizon: float, steps: int = 200) -> float:
        """∫₀ᴴ CIF(H − u) du / H: the share of deals created uniformly over the next H days won by H."""
        if horizon <= 0 or self.times_.size == 0:
            return 0.0
        u = (np.arange(steps) + 0.5) / steps * horizon
        return float(self._at(self.won_, horizon - u, 0.0).mean())


def latest_commits(ws: Workspace, label: str, at: pd.Timestamp) -> pd.DataFrame:
    """The latest commit and best-case amount per rep for the period, submitted by `at`."""
    fc = ws.table("forecasts")
    fc = fc.filter(
        (fc.period == label) & (fc.submitted_at <= ibis.timestamp(pd.Timestamp(at).to_pydatetime()))
    )
    fc = fc.filter(fc.category.isin(["commit", "best_case"]))
    frame = fc.group_by("rep_id", "category").aggregate(amount=_.amount.argmax(_.submitted_at)).execute()
    wide = frame.pivot(index="rep_id", columns="category", values="amount") if len(frame) else None
    return pd.DataFrame(wide, columns=["commit", "best_case"], dtype=float)


class PipelineForecast(BaseEstimator):
    """Monte Carlo forecast of this period's bookings per rep and in total (see the module docstring).

    p10/p50/p90 are always the 10th/50th/90th percentiles; `level` sets ci_low/ci_high, the
    (1 − level)/2 and (1 + level)/2 quantiles (90% by default, like every interval in fairshare). After `fit`: `result_` (FORECAST_COLUMNS, one row per rep plus `rep_id = "all"`),
    `stages_` (STAGE_COLUMNS), `open_` (OPEN_COLUMNS, one row per open opportunity), `draws_`
    (n_draws × columns = result_ rep_ids), `as_of_`, `period_`, `bounds_` (period start, end).
    """

    def __init__(
        self,
        level: float = 0.9,
        n_draws: int = 5000,
        random_state: int | None = None,
        period: str = "quarter",
        lookback_days: float = 90.0,
        min_spells: int = 20,
        min_at_risk: int = 10,
        min_wins: int = 5,
        rep_prior: float = 20.0,
        common_shocks: bool = False,
        window_days: float = 30.0,
    ):
        self.level = level
        self.n_draws = n_draws
        self.random_state = random_state
        self.period = period
        self.lookback_days = lookback_days
        self.min_spells = min_spells
        self.min_at_risk = min_at_risk
        self.min_wins = min_wins
        self.rep_prior = rep_prior
        self.common_shocks = common_shocks
        self.window_days = window_days

    # --- data known at as_of -----------------------------------------------------------------------

    def _history(self, ws: Workspace, funnel: Funnel, at: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Opportunities created by `at` with their outcome known at `at` (event 1 won, 2 lost, 0 open;
        `end` = close or `at`), and stage entries (first lifecycle row per open stage) by `at`."""
        t = ibis.timestamp(at.to_pydatetime())
        of = funnel.opportunity_facts()
        cols = ["opportunity_id", "owner_rep_id", "created_at", "closed_at", "is_won", "is_closed", "amount",
                "current_stage"]  # fmt: skip
        opps = of.filter(of.created_at <= t).select(*cols).execute()
        stages = list(ws.definitions.funnel.opportunity_stages)
        lc = ws.table("lifecycle")
        lc = lc.filter((lc.entity == "opportunity") & (lc.at <= t) & lc.stage.isin(stages))
        entries = lc.group_by(opportunity_id=_.entity_id, stage=_.stage).aggregate(entered_at=_.at.min())
        closed_at = pd.to_datetime(opps["closed_at"])
        known = closed_at.notna() & (closed_at <= at)
        undated = opps["is_closed"].fillna(False).astype(bool) & closed_at.isna()  # closed, date unknown
        won = known & opps["is_won"].fillna(False).astype(bool)
        opps = opps.assign(
            rep_id=opps["owner_rep_id"].fillna(NO_OWNER).astype(str),
            closed_at=closed_at,
            event=np.where(known, np.where(won, 1, 2), 0),
            end=closed_at.where(known, at),
            won=won,
        )
        return opps[~undated].reset_index(drop=True), entries.execute()

    # --- model --------------------------------------------------------------------------------------

    def _curves(self, ws: Workspace, opps: pd.DataFrame, entries: pd.DataFrame, remaining: float):
        """The pooled curve from creation and one curve per stage (pooled when too few entries)."""
        pooled = WinCurve(self.min_at_risk).fit(((opps["end"] - opps["created_at"]) / DAY).to_numpy(float),
                                                opps["event"].to_numpy())  # fmt: skip
        spells = entries.merge(opps[["opportunity_id", "end", "event"]], on="opportunity_id")
        curves: dict[str, WinCurve] = {}
        rows = []
        for stage in ws.definitions.funnel.opportunity_stages:
            sp = spells[spells["stage"] == stage]
            curve = WinCurve(self.min_at_risk).fit(((sp["end"] - sp["entered_at"]) / DAY).to_numpy(float),
                                                   sp["event"].to_numpy())  # fmt: skip
            if curve.entries_ >= self.min_spells:
                curves[stage] = curve
            rows.append((stage, sp["event"].to_numpy(), curve if stage in curves else pooled,
                         "stage" if stage in curves else "creation"))  # fmt: skip
        rows.append(("(creation)", opps["event"].to_numpy(), pooled, "creation"))
        self.stages_ = pd.DataFrame(
            [{"stage": stage, "entries": ev.size, "won": int((ev == 1).sum()), "lost": int((ev == 2).sum()),
              "open": int((ev == 0).sum()), "win_within_remaining": float(c.probability(np.zeros(1), remaining)[0]),
              "curve": kind} for stage, ev, c, kind in rows],
            columns=STAGE_COLUMNS,
        )  # fmt: skip
        return pooled, curves

    def _open(
        self, ws, opps, entries, pooled: WinCurve, curves: dict[str, WinCurve], at, remaining
    ) -> pd.DataFrame:
        """Open opportunities at `at`: current stage (latest stage entry; the stage column when there is
        no lifecycle row), age in it (or since creation), probability of a win in the remaining days."""
        open_ = opps[opps["event"] == 0]
        if open_.empty:
            return pd.DataFrame(
                {c: pd.Series(dtype=float if c in ("age_days", "amount", "probability") else object)
                 for c in OPEN_COLUMNS}
            )  # fmt: skip
        latest = (
            entries.sort_values("entered_at").groupby("opportunity_id").tail(1).set_index("opportunity_id")
        )
        ids = open_["opportunity_id"].to_numpy()  # reindex, not map: no lifecycle rows keeps datetimes
        stage = pd.Series(latest["stage"].reindex(ids).to_numpy(), index=open_.index, dtype=object)
        entered = pd.Series(pd.to_datetime(latest["entered_at"].reindex(ids)).to_numpy(), index=open_.index)
        column = open_["current_stage"].where(
            open_["current_stage"].isin(ws.definitions.funnel.opportunity_stages)
        )
        stage = stage.fillna(column)
        by_stage = stage.isin(list(curves)) & entered.notna()
        since = entered.where(by_stage, pd.to_datetime(open_["created_at"]))
        age = ((at - since) / DAY).to_numpy(float)
        prob = pooled.probability(age, remaining)
        for name, curve in curves.items():
            mask = (by_stage & (stage == name)).to_numpy()
            prob[mask] = curve.probability(age[mask], remaining)
        return pd.DataFrame({
            "opportunity_id": open_["opportunity_id"].to_numpy(), "rep_id": open_["rep_id"].to_numpy(),
            "stage": stage.to_numpy(), "age_days": age, "amount": open_["amount"].fillna(0.0).to_numpy(float),
            "probability": prob, "curve": np.where(by_stage, "stage", "creation"),
        }, columns=OPEN_COLUMNS)  # fmt: skip

    def _shocks(
        self, opps: pd.DataFrame, at: pd.Timestamp, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Common shocks per draw, from month-to-month swings beyond chance in the history (30-day
        windows back from `at`, at least 3): a gamma multiplier of the creation rate (dispersion of the
        monthly counts beyond Poisson) and a log-normal multiplier of the win rate (variance of the
        monthly win rates beyond binomial). 1 when the history is too short or shows no excess."""
        ones = np.ones(self.n_draws)
        if opps.empty:
            return ones, ones
        bins = int((at - opps["created_at"].min()) / pd.Timedelta(days=self.window_days))
        if bins < 3:
            return ones, ones
        edges = -self.window_days * np.arange(bins, -1, -1, dtype=float)  # days before `at`
        counts = np.histogram(((opps["created_at"] - at) / DAY).to_numpy(float), edges)[0].astype(float)
        mean, var = counts.mean(), counts.var(ddof=1)
        phi = max(0.0, (var - mean) / mean**2) if mean > 0 else 0.0
        creation = rng.gamma(1 / phi, phi, size=self.n_draws) if phi > 0 else ones
        closed = opps[opps["event"] > 0]
        which = np.digitize(((closed["end"] - at) / DAY).to_numpy(float), edges) - 1
        ok = (which >= 0) & (which < bins)
        n_b = np.bincount(which[ok], minlength=bins).astype(float)
        w_b = np.bincount(which[ok], weights=closed["won"].to_numpy(float)[ok], minlength=bins)
        has = n_b > 0
        win = ones
        if has.sum() >= 3 and w_b.sum() > 0:
            p_b, p = w_b[has] / n_b[has], w_b.sum() / n_b.sum()
            tau2 = max(0.0, p_b.var(ddof=1) - float(np.mean(p * (1 - p) / n_b[has])))
            sigma = np.sqrt(tau2) / p
            win = rng.lognormal(-(sigma**2) / 2, sigma, size=self.n_draws) if sigma > 0 else ones
        return creation, win

    def _multipliers(
        self, opps: pd.DataFrame, reps: list[str], rng: np.random.Generator, shock: np.ndarray
    ) -> np.ndarray:
        """Per draw and rep: (pooled win rate draw × the rep's win rate draw) / pooled rate² × the
        common win-rate shock."""
        closed = opps[opps["event"] > 0]
        w, n = float(closed["won"].sum()), float(len(closed))
        rate = (w + 0.5) / (n + 1.0)
        common = rng.beta(w + 0.5, n - w + 0.5, size=self.n_draws) / rate * shock
        by_rep = closed.groupby("rep_id")["won"].agg(["sum", "count"])
        out = np.empty((self.n_draws, len(reps)))
        k = self.rep_prior
        for j, r in enumerate(reps):
            w_r = float(by_rep["sum"].get(r, 0.0))
            l_r = float(by_rep["count"].get(r, 0.0)) - w_r
            out[:, j] = common * rng.beta(w_r + k * rate, l_r + k * (1 - rate), size=self.n_draws) / rate
        return out

    # --- fit ----------------------------------------------------------------------------------------

    def fit(self, ws: Workspace, as_of: dt.datetime | str | None = None, funnel: Funnel | None = None):
        """Forecast the period containing `as_of` (default: the latest event time in the warehouse).

        Raises `fairshare.errors.AreaMissing` when the warehouse has no opportunities at all (before the
        first one, `as_of` gives an all-zero forecast)."""
        if self.period not in PERIODS or self.period == "all":
            raise ValueError(f"unknown period {self.period!r}; known: quarter, month, year")
        rng = np.random.default_rng(self.random_state)
        funnel = funnel if funnel is not None else Funnel().fit(ws)
        as_of = naive_utc(as_of) if as_of is not None else funnel.as_of_
        at = pd.Timestamp(as_of)
        _, start, end = period_bounds(as_of, self.period)
        label = period_label(start, self.period)
        remaining = max((pd.Timestamp(end) - at) / DAY, 0.0)

        opps, entries = self._history(ws, funnel, at)
        if opps.empty and int(ws.table("opportunities").count().execute()) == 0:
            raise AreaMissing(
                "no opportunities in the warehouse (nothing open, no history): "
                "import opportunities.csv to forecast bookings"
            )
        pooled, curves = self._curves(ws, opps, entries, remaining)
        self.open_ = self._open(ws, opps, entries, pooled, curves, at, remaining)
        commits = latest_commits(ws, label, at)
        booked = (
            opps[opps["won"] & (opps["closed_at"] >= pd.Timestamp(start))].groupby("rep_id")["amount"].sum()
        )
        created = (
            opps[opps["created_at"] > at - pd.Timedelta(days=self.lookback_days)].groupby("rep_id").size()
        )
        reps = sorted(set(self.open_["rep_id"]) | set(booked.index) | set(created.index) | set(commits.index))
        creation_shock, win_shock = self._shocks(opps, at, rng) if self.common_shocks else (1.0, 1.0)
        multiplier = self._multipliers(opps, reps, rng, win_shock)
        draws = np.zeros((self.n_draws, len(reps)))
        expected_open, expected_new = np.zeros(len(reps)), np.zeros(len(reps))

        # 1. open opportunities: Bernoulli wins at the rep's scaled probabilities
        group = pd.Index(reps).get_indexer(self.open_["rep_id"])
        prob, amount = self.open_["probability"].to_numpy(), self.open_["amount"].to_numpy()
        for j in np.unique(group):
            cols = np.flatnonzero(group == j)
            for lo in range(0, cols.size, 512):
                c = cols[lo : lo + 512]
                p_draw = np.clip(multiplier[:, j, None] * prob[c], 0.0, 1.0)
                draws[:, j] += (rng.random(p_draw.shape) < p_draw).astype(float) @ amount[c]
                expected_open[j] += float((p_draw @ amount[c]).mean())

        # 2. new pipeline: Poisson-gamma count created and won in time, bootstrapped won amounts
        share_won = pooled.mean_won_within(remaining)
        wins = opps[opps["won"]]
        all_amounts = wins["amount"].dropna().to_numpy(float)
        if all_amounts.size == 0:
            all_amounts = opps["amount"].dropna().to_numpy(float)
        first = opps["created_at"].min()
        window = min(self.lookback_days, max((at - first) / DAY, 1.0)) if len(opps) else 1.0
        owners = set(self.open_["rep_id"])
        for j, r in enumerate(reps):
            n = float(created.get(r, 0))
            if share_won <= 0 or all_amounts.size == 0 or (n == 0 and r not in owners):
                continue
            mean_count = rng.gamma(n + 0.5, 1.0 / window, size=self.n_draws) * remaining * share_won
            mean_count *= multiplier[:, j] * creation_shock
            count = rng.poisson(mean_count)
            mine = wins.loc[wins["rep_id"] == r, "amount"].dropna().to_numpy(float)
            pool = mine if mine.size >= self.min_wins else all_amounts
            picks = pool[rng.integers(pool.size, size=int(count.sum()))]
            draws[:, j] += np.bincount(np.repeat(np.arange(self.n_draws), count), weights=picks,
                                       minlength=self.n_draws)  # fmt: skip
            expected_new[j] = float(mean_count.mean()) * float(pool.mean())

        base = booked.reindex(reps, fill_value=0.0).to_numpy(float)
        draws += base
        self.draws_ = pd.DataFrame(
            np.hstack([draws, draws.sum(axis=1, keepdims=True)]), columns=[*reps, TOTAL]
        )
        self.as_of_, self.period_, self.bounds_ = as_of, label, (start, end)
        by_rep = self.open_.groupby("rep_id")["amount"].agg(["size", "sum"])
        self.result_ = summarize(self.draws_, commits, base, expected_open, expected_new, by_rep, label, at,
                                 remaining, self.level)  # fmt: skip
        return self


def summarize(draws: pd.DataFrame, commits: pd.DataFrame, base, expected_open, expected_new, open_by_rep: pd.DataFrame,
              label: str, as_of, remaining: float, level: float) -> pd.DataFrame:  # fmt: skip
    """FORECAST_COLUMNS rows from simulated bookings (`draws`: one column per rep and a last `all`
    column); `open_by_rep`: open deals (`size`) and their amount (`sum`) per rep."""
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    rows = []
    for j, r in enumerate(draws.columns):
        sims = draws.iloc[:, j].to_numpy()
        total = r == TOTAL
        n_open = int(open_by_rep["size"].sum()) if total else int(open_by_rep["size"].get(r, 0))
        pipe = float(open_by_rep["sum"].sum()) if total else float(open_by_rep["sum"].get(r, 0.0))
        booked, from_open, from_new = (
            float(np.sum(v) if total else v[j]) for v in (base, expected_open, expected_new)
        )
        if total:
            commit, best = (float(commits[c].sum()) if commits[c].notna().any() else np.nan
                            for c in ("commit", "best_case"))  # fmt: skip
        else:
            commit, best = (float(commits[c].get(r, np.nan)) for c in ("commit", "best_case"))
        p10, p50, p90, ci_low, ci_high = np.quantile(sims, [0.1, 0.5, 0.9, lo_q, hi_q])
        has = pd.notna(commit)
        rows.append({
            "rep_id": r, "period": label, "as_of": pd.Timestamp(as_of), "remaining_days": remaining,
            "booked_to_date": booked, "open_opportunities": n_open, "open_pipeline": pipe,
            "expected_from_open": from_open, "expected_from_new": from_new, "p10": p10, "p50": p50, "p90": p90,
            "mean": float(sims.mean()), "ci_low": ci_low, "ci_high": ci_high, "commit": commit, "best_case": best,
            "commit_gap": commit - p50 if has else np.nan,
            "commit_percentile": (np.mean(sims < commit) + np.mean(sims <= commit)) / 2 if has else np.nan,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=FORECAST_COLUMNS)
