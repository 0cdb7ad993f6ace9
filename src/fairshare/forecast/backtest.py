"""Backtest: every past period forecast as it would have been made `offset` days into it, with only
the data known then, against what was booked, next to the reps' latest commit known then.

A forecast made before `[forecast] backtest_min_wins` deals had been won is left out (counted in
`skipped_`): with no win yet there is no win rate or amount to learn, and its P50 of 0 would only
measure that. Scores per period and overall: coverage of P10–P90 (nominal 80%), mean absolute %
error of the P50 and of the commit, CRPS (from the Monte Carlo draws) and the mean pinball loss of
P10/P50/P90, both as a share of the actual.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from fairshare.forecast.deals import DealForecast, stretch
from fairshare.forecast.history import DAY, DealHistory
from fairshare.forecast.pipeline import TOTAL, PipelineForecast
from fairshare.periods import period_bounds, period_label

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

BACKTEST_COLUMNS = ["period", "as_of", "offset_days", "actual", "p10", "p50", "p90", "mean", "commit", "covered",
                    "p50_error", "commit_error", "crps", "pinball", "interval_scale"]  # fmt: skip
SUMMARY_COLUMNS = ["period", "forecasts", "coverage", "below_p10", "above_p90", "p50_mape", "commit_mape",
                   "commits", "crps", "pinball", "width"]  # fmt: skip
MODELS = ("deals", "pipeline")


def crps(draws: np.ndarray, actual: float) -> float:
    """Continuous ranked probability score of a sample against one value: E|X − y| − ½ E|X − X'|."""
    x = np.sort(np.asarray(draws, float))
    n = x.size
    spread = 2.0 * np.sum(x * (2 * np.arange(1, n + 1) - n - 1)) / n**2
    return float(np.mean(np.abs(x - actual)) - spread / 2)


def pinball(quantiles: dict[float, float], actual: float) -> float:
    """Mean pinball (quantile) loss over the given levels."""
    return float(np.mean([max(q * (actual - v), (q - 1) * (actual - v)) for q, v in quantiles.items()]))


def interval_scale(actuals: Sequence[float], draws: Sequence[np.ndarray], prior: float = 1.0,
                   min_forecasts: int = 4, coverage: float = 0.8) -> float:  # fmt: skip
    """The stretch k of the draws around their median under which `coverage` of the past forecasts
    would have held their actual between the (1 ± coverage)/2 quantiles (split conformal on the
    residual over the half-width on its side); `prior` when fewer than `min_forecasts` are known."""
    if len(actuals) < min_forecasts:
        return prior
    lo_q, hi_q = (1 - coverage) / 2, (1 + coverage) / 2
    need = []
    for y, d in zip(actuals, draws, strict=True):
        lo, mid, hi = np.quantile(d, [lo_q, 0.5, hi_q])
        half = (hi - mid) if y >= mid else (mid - lo)
        need.append(abs(y - mid) / half if half > 0 else (0.0 if y == mid else np.inf))
    n = len(need)
    rank = min(int(np.ceil((n + 1) * coverage)), n)
    k = float(np.sort(need)[rank - 1])
    return float(np.clip(k, 0.5, 4.0)) if np.isfinite(k) else 4.0


def past_periods(
    history: DealHistory, period: str, until: pd.Timestamp | None = None
) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """(label, start, end) of every period that starts after the first opportunity and ended by
    `until` (default: the latest event; data up to a period's last day counts as all of it)."""
    first = history.opps["created_at"].min()
    if pd.isna(first):
        return []
    out = []
    _, start, end = period_bounds(pd.Timestamp(first).to_pydatetime(), period)
    start, end = end, period_bounds(end, period)[2]  # the first full period after the first deal
    limit = history.latest + DAY if until is None else pd.Timestamp(until)
    while pd.Timestamp(end) <= limit:
        out.append((period_label(start, period), pd.Timestamp(start), pd.Timestamp(end)))
        start, end = end, period_bounds(end, period)[2]
    return out


class Backtest(BaseEstimator):
    """Forecast each past period at `offsets` days into it with `model` ("deals" or "pipeline").

    Each forecast is stretched by the `interval_scale` fitted on the forecasts before it whose period
    had ended by its `as_of` (the calibration a user would have had then). After `fit(ws)`:
    `result_` (BACKTEST_COLUMNS, one row per period and offset), `summary_` (SUMMARY_COLUMNS, one row
    per period and a last row `period = "all"`), `scale_` (the stretch fitted on all of them: the one
    for a forecast made today), `skipped_` (forecasts left out: made before `[forecast]
    backtest_min_wins` deals had been won).
    """

    def __init__(
        self,
        model: str = "deals",
        period: str = "quarter",
        offsets: Sequence[int] | None = None,
        n_draws: int = 2000,
        random_state: int | None = 0,
    ):
        self.model = model
        self.period = period
        self.offsets = offsets
        self.n_draws = n_draws
        self.random_state = random_state

    def _forecast(self, ws: Workspace, history: DealHistory, at: pd.Timestamp):
        if self.model == "pipeline":
            return PipelineForecast(
                n_draws=self.n_draws, random_state=self.random_state, period=self.period
            ).fit(ws, as_of=at)
        return DealForecast(period=self.period, n_draws=self.n_draws, random_state=self.random_state, interval_scale=1.0,
                            min_remaining_days=0.0).fit(ws, as_of=at, history=history)  # fmt: skip

    def fit(self, ws: Workspace, history: DealHistory | None = None, until=None) -> Backtest:
        """Backtest the periods that ended by `until` (default: all past periods)."""
        if self.model not in MODELS:
            raise ValueError(f"unknown forecast model {self.model!r}; known: {', '.join(MODELS)}")
        offsets = list(ws.definitions.forecast.backtest_offsets if self.offsets is None else self.offsets)
        if not offsets or min(offsets) < 0:
            raise ValueError(f"offsets must be days >= 0 into the period, got {offsets}")
        if history is None:
            history = DealHistory.of(ws)
        settings = ws.definitions.forecast
        won_at = np.sort(history.opps.loc[history.opps["is_won"], "closed_at"].dropna().to_numpy())
        rows, raw, self.skipped_ = [], [], 0
        for label, start, end in past_periods(
            history, self.period, None if until is None else pd.Timestamp(until)
        ):
            actual = float(history.won_between(start, end)["amount"].sum())
            for offset in offsets:
                at = start + offset * DAY
                if at >= end:
                    continue
                if np.searchsorted(won_at, at.to_datetime64(), side="right") < settings.backtest_min_wins:
                    self.skipped_ += 1  # no won deal to learn win rates and amounts from yet
                    continue
                f = self._forecast(ws, history, at)
                total = f.result_.set_index("rep_id").loc[TOTAL]
                raw.append((f.draws_[TOTAL].to_numpy(), float(total["booked_to_date"])))
                rows.append({"period": label, "as_of": at, "offset_days": offset, "actual": actual,
                             "commit": total["commit"], "end": end})  # fmt: skip
        ends = [row.pop("end") for row in rows]
        actuals = [row["actual"] for row in rows]
        for i, row in enumerate(rows):  # each forecast stretched by what the earlier, settled ones showed
            known = [j for j in range(len(rows)) if ends[j] <= row["as_of"]]
            k = interval_scale([actuals[j] for j in known], [raw[j][0] for j in known],
                               settings.interval_scale, settings.calibration_min_forecasts)  # fmt: skip
            sims = stretch(raw[i][0][:, None], k, raw[i][1])[:, 0]
            p10, p50, p90 = np.quantile(sims, [0.1, 0.5, 0.9])
            actual = row.pop("actual")
            row.update({
                "actual": actual, "p10": p10, "p50": p50, "p90": p90, "mean": float(sims.mean()),
                "covered": bool(p10 <= actual <= p90), "p50_error": _relative(p50, actual),
                "commit_error": _relative(row["commit"], actual), "interval_scale": k,
                "crps": crps(sims, actual) / actual if actual > 0 else np.nan,
                "pinball": pinball({0.1: p10, 0.5: p50, 0.9: p90}, actual) / actual if actual > 0 else np.nan,
            })  # fmt: skip
        self.result_ = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
        self.scale_ = interval_scale(actuals, [d for d, _ in raw], settings.interval_scale,
                                     settings.calibration_min_forecasts)  # fmt: skip
        self.summary_ = summarize_backtest(self.result_)
        return self


def _relative(value: float, actual: float) -> float:
    return float(abs(value - actual) / actual) if actual > 0 and pd.notna(value) else np.nan


def summarize_backtest(rows: pd.DataFrame) -> pd.DataFrame:
    """SUMMARY_COLUMNS per period and overall (`period = "all"`) from BACKTEST_COLUMNS rows."""

    def one(label: str, g: pd.DataFrame) -> dict:
        return {
            "period": label, "forecasts": len(g), "coverage": g["covered"].mean() if len(g) else np.nan,
            "below_p10": (g["actual"] < g["p10"]).mean() if len(g) else np.nan,
            "above_p90": (g["actual"] > g["p90"]).mean() if len(g) else np.nan,
            "p50_mape": g["p50_error"].mean(), "commit_mape": g["commit_error"].mean(),
            "commits": int(g["commit"].notna().sum()), "crps": g["crps"].mean(), "pinball": g["pinball"].mean(),
            "width": ((g["p90"] - g["p10"]) / g["actual"].where(g["actual"] > 0)).mean(),
        }  # fmt: skip

    out = [one(str(p), g) for p, g in rows.groupby("period", sort=True)]
    out.append(one("all", rows))
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)
