"""Rep factors beyond closing ability, each net of lead and territory quality, with an interval.

- consistency (work ethic): cadence completion, follow-ups within `follow_up_days` after each meeting
  (capped at `cadence_steps`, over `cadence_steps`); active days as a plain share;
- speed: hours from a meeting to the first follow-up;
- product knowledge: objections overcome (an objection theme's note followed later in the same deal
  by a note on the same theme in a better tone) and demo → proposal conversion;
- closing: the shrunken ability of the `reps` table (quality-adjusted win rate), copied;
- team mood: not measurable from CRM data; a row says so rather than invent it.

"Net of quality": each unit's outcome is regressed (least squares) on the deal's lead quality
(p_win at arrival when lead scores exist), log amount and region; the residuals are averaged per
rep and shrunk toward the team mean (`fairshare.reps.shrink`), which gives the interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from fairshare.reps import shrink

FACTOR_COLUMNS = ["rep_id", "factor", "measure", "value", "ci_low", "ci_high", "units", "note"]
MOOD_NOTE = "team mood cannot be measured from CRM data (no survey or pulse data is imported)"


def net_of_quality(units: pd.DataFrame, y: str, covariates: pd.DataFrame) -> np.ndarray:
    """Residual of `y` after a least-squares fit on `covariates` (plus intercept), plus the mean."""
    x = np.column_stack([np.ones(len(units)), covariates.to_numpy(float)])
    target = units[y].to_numpy(float)
    coef, *_ = np.linalg.lstsq(x, target, rcond=None)
    return target - x @ coef + target.mean()


def _covariates(frame: pd.DataFrame) -> pd.DataFrame:
    cov = pd.DataFrame({"log_amount": np.log1p(frame["amount"].astype(float).fillna(0))}, index=frame.index)
    if "p_win" in frame:
        cov["p_win"] = (
            frame["p_win"].astype(float).fillna(frame["p_win"].mean() if frame["p_win"].notna().any() else 0)
        )
    dummies = pd.get_dummies(frame["region"].astype(str), prefix="region", dtype=float, drop_first=True)
    return pd.concat([cov, dummies], axis=1)


class RepFactors(BaseEstimator):
    """Consistency, speed and product knowledge per rep (net of lead and territory quality), plus closing."""

    def __init__(
        self, follow_up_days: float = 10.0, cadence_steps: int = 3, level: float = 0.9, min_units: int = 5
    ):
        self.follow_up_days = follow_up_days
        self.cadence_steps = cadence_steps
        self.level = level
        self.min_units = min_units

    def fit(self, meetings: pd.DataFrame, objections: pd.DataFrame, demos: pd.DataFrame,
            active: pd.DataFrame, closing: pd.DataFrame | None = None) -> RepFactors:  # fmt: skip
        """`meetings`: rep_id, follow_ups, hours_to_follow_up, amount, region (+ p_win); `objections`:
        rep_id, overcome, amount, region (+ p_win); `demos`: rep_id, proposal, amount, region (+ p_win);
        `active`: rep_id, active_days, business_days; `closing`: the `reps` table (rep_id, ability, ci_*)."""
        for name, frame, col in (("meetings", meetings, "follow_ups"), ("objections", objections, "overcome"),
                                 ("demos", demos, "proposal")):  # fmt: skip
            if col not in frame.columns or "rep_id" not in frame.columns:
                raise ValueError(f"{name} needs rep_id and {col}")
        rows: list[pd.DataFrame] = []
        m = meetings.copy()
        m["completion"] = np.minimum(m["follow_ups"], self.cadence_steps) / self.cadence_steps
        rows.append(self._factor(m, "completion", "consistency", "cadence_completion"))
        timed = m[m["hours_to_follow_up"].notna()].copy()
        timed["log_hours"] = np.log(np.maximum(timed["hours_to_follow_up"].astype(float), 0.1))
        speed = self._factor(timed, "log_hours", "speed", "follow_up_hours")
        speed[["value", "ci_low", "ci_high"]] = np.exp(speed[["value", "ci_low", "ci_high"]].to_numpy(float))
        rows.append(speed)
        rows.append(self._factor(objections, "overcome", "product_knowledge", "objections_overcome"))
        rows.append(self._factor(demos, "proposal", "product_knowledge", "demo_to_proposal"))
        a = active.copy()
        share = a["active_days"] / a["business_days"].clip(lower=1)
        rows.append(pd.DataFrame({"rep_id": a["rep_id"], "factor": "consistency", "measure": "active_days",
                                  "value": share, "ci_low": np.nan, "ci_high": np.nan,
                                  "units": a["business_days"], "note": "share of business days with activity"}))  # fmt: skip
        reps = pd.Index(pd.concat([f["rep_id"] for f in rows]).unique())
        if closing is not None and len(closing):
            c = closing[closing["rep_id"].isin(reps)]
            rows.append(pd.DataFrame({"rep_id": c["rep_id"], "factor": "closing", "measure": "ability",
                                      "value": c["ability"], "ci_low": c["ci_low"], "ci_high": c["ci_high"],
                                      "units": c["leads"], "note": "from the reps table"}))  # fmt: skip
        rows.append(pd.DataFrame({"rep_id": reps, "factor": "team_mood", "measure": "not_measured", "value": np.nan,
                                  "ci_low": np.nan, "ci_high": np.nan, "units": 0, "note": MOOD_NOTE}))  # fmt: skip
        out = pd.concat([r for r in rows if len(r)], ignore_index=True)[FACTOR_COLUMNS]
        self.result_ = out.sort_values(["rep_id", "factor", "measure"], ignore_index=True)
        return self

    def _factor(self, units: pd.DataFrame, y: str, factor: str, measure: str) -> pd.DataFrame:
        """Per rep: mean of the quality-net outcome, shrunk toward the mean of all reps (with interval)."""
        if len(units) < 2:
            return pd.DataFrame(columns=FACTOR_COLUMNS)
        u = units.reset_index(drop=True).copy()
        u[y] = u[y].astype(float)
        u["net"] = net_of_quality(u, y, _covariates(u))
        g = u.groupby("rep_id")["net"]
        stats = pd.DataFrame({"mean": g.mean(), "n": g.size(), "var": g.var(ddof=1)})
        pooled = max(
            float(np.nan_to_num(u["net"].var(ddof=1))), 1e-9
        )  # a constant outcome: no spread, no 0/0
        stats["v"] = stats["var"].fillna(pooled).clip(lower=pooled * 0.05) / stats["n"]
        shrunk = shrink(stats["mean"].to_numpy(), stats["v"].to_numpy(), np.zeros(len(stats)), self.level)
        few = stats["n"].to_numpy() < self.min_units
        return pd.DataFrame({
            "rep_id": stats.index, "factor": factor, "measure": measure, "value": shrunk["ability"].to_numpy(),
            "ci_low": shrunk["ci_low"].to_numpy(), "ci_high": shrunk["ci_high"].to_numpy(),
            "units": stats["n"].to_numpy(), "note": np.where(few, f"fewer than {self.min_units} units", ""),
        })  # fmt: skip
