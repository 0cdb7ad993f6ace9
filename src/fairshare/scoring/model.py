"""`LeadScorer`: what a lead is worth and how much work it will take, with reasons.

Per lead: calibrated P(opportunity) and P(win), expected deal size if won, value =
P(win) × E[amount | win], expected rep hours of work on the lead (effort: every activity on the lead
and its opportunities, fitted on all worked leads, won or not), value per hour, a split-conformal
interval for the value (NaN, and said so in `model`, with too few resolved leads to calibrate it:
at most max(1/level, 1/(1 − level))), and the top reasons in plain words.

- Enough data (≥ `min_leads` resolved leads and ≥ `min_conversions` wins): LightGBM classifiers
  calibrated by cross-validated isotonic or Platt scaling (the lower CV log loss wins), LightGBM
  regressions of log amount on won leads and of log effort on worked leads; reasons from LightGBM
  `pred_contrib`. Features whose direction is known (`monotone`, e.g. a slower first response never
  raises P(win)) are held monotone, unless the workspace's own resolved leads show the opposite
  direction (rank correlation's 90% interval on the other side of zero): then the model is left free
  and the reason says so, with that evidence.
- Less data: the same outputs from strongly L2-regularized logistic and ridge models (a Gaussian
  prior centred on "no effect"), Platt-calibrated; the `model` column says "small-data logistic".
  With fewer than 5 wins P(win) is the Beta(1, 1)-smoothed win rate ("prior only"). A lead is
  never refused a score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from fairshare.scoring.calibration import CalibratedClassifier
from fairshare.scoring.evaluate import LeadFeatureEncoder
from fairshare.scoring.features import feature_columns, leaky_columns
from fairshare.scoring.learners import MonotoneBoosting, ValueIdentity, boosting, linear_columns
from fairshare.scoring.phrases import phrase

LEAD_COLUMNS = [
    "lead_id", "account_id", "p_opportunity", "p_win", "expected_amount", "value", "value_low", "value_high",
    "effort_hours", "value_per_hour", "reasons", "model",
]  # fmt: skip

LIGHTGBM = "lightgbm"
SMALL_DATA = "small-data logistic"
PRIOR_ONLY = "prior only"


def direction_evidence(x: np.ndarray, won: np.ndarray, level: float = 0.9) -> tuple[float, float, float, int]:
    """Spearman correlation of a feature with winning and its Fisher-z interval: (rho, low, high, n)."""
    from scipy.stats import norm, spearmanr

    ok = np.isfinite(x)
    n = int(ok.sum())
    if n < 10 or np.ptp(x[ok]) == 0 or np.ptp(won[ok]) == 0:
        return 0.0, -1.0, 1.0, n
    rho = float(spearmanr(x[ok], won[ok]).statistic)
    half = norm.ppf(0.5 + level / 2) / np.sqrt(max(n - 3, 1))
    z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
    return rho, float(np.tanh(z - half)), float(np.tanh(z + half)), n


class LeadScorer(BaseEstimator):
    """Lead value and effort model on point-in-time features (see `fairshare.scoring.features`).

    Parameters: `min_leads`, `min_conversions` (below either, the small-data path), `prior_strength`
    (inverse L2 penalty C of the small-data models; smaller = stronger prior), `level` (conformal
    interval level), `n_reasons`, `cv` (folds of the calibration), `monotone` ({feature: -1 or +1}:
    known directions on P(win); None = `fairshare.toml` [scoring] defaults, {} = none), `random_state`.

    `fit(features, outcomes)` learns from the resolved leads and scores every lead of `features` into
    `result_` (the lead table); `score(features)` makes the same table for other leads.

    Learned: `result_`, `model_` (lightgbm / small-data logistic / prior only), `features_`, `opportunity_`,
    `win_` (calibrated classifiers, or None), `amount_`, `effort_` (regressions of log amount and
    log hours, or None), `amount_smearing_`, `effort_smearing_`, `base_rates_`, `conformal_`,
    `leaky_` ({feature: why} left out because it alone predicts winning with AUC > 0.95),
    `directions_` ({feature: {"known", "held", "rho", "low", "high", "n", "typical"}}: the known
    direction, whether the model holds it, the data's rank correlation with winning and its interval,
    and the median of the feature among the training leads).
    """

    def __init__(
        self,
        min_leads: int = 1000,
        min_conversions: int = 100,
        prior_strength: float = 0.1,
        level: float = 0.9,
        n_reasons: int = 3,
        cv: int = 3,
        monotone: dict[str, int] | None = None,
        random_state: int = 0,
        exclude_leaky: bool = True,
    ):
        self.min_leads = min_leads
        self.min_conversions = min_conversions
        self.prior_strength = prior_strength
        self.level = level
        self.n_reasons = n_reasons
        self.cv = cv
        self.monotone = monotone
        self.random_state = random_state
        self.exclude_leaky = exclude_leaky

    # --- fitting -----------------------------------------------------------------------------

    def _classifier(self) -> Pipeline:
        if self.model_ == LIGHTGBM:
            enc = LeadFeatureEncoder(min_count=10, frequency=False, missing_count=False)
            held = {f: d["known"] for f, d in self.directions_.items() if d["held"]}
            return Pipeline([("features", enc), ("model", MonotoneBoosting(held, self.random_state))])
        return Pipeline(
            [("features", linear_columns(self._template_)),
             ("model", LogisticRegression(C=self.prior_strength, solver="newton-cholesky", max_iter=200))]
        )  # fmt: skip

    def _regressor(self, n_rows: int) -> Pipeline:
        """LightGBM on log targets with enough rows (200), else ridge: a prior centred on the mean."""
        if self.model_ == LIGHTGBM and n_rows >= 200:
            enc = LeadFeatureEncoder(min_count=10, frequency=False, missing_count=False)
            return Pipeline([("features", enc), ("model", boosting("regressor", self.random_state))])
        return Pipeline(
            [("features", linear_columns(self._template_)), ("model", Ridge(alpha=1.0 / self.prior_strength))]
        )

    def _fit_classifier(self, X: pd.DataFrame, y: np.ndarray) -> CalibratedClassifier | None:
        if min(np.bincount(y, minlength=2)) < 5:
            return None
        method = "auto" if self.model_ == LIGHTGBM else "platt"
        return CalibratedClassifier(self._classifier(), method=method, random_state=self.random_state).fit(
            X, y
        )

    def _fit_regression(self, X: pd.DataFrame, target: np.ndarray) -> tuple[Pipeline | None, float, float]:
        """(model of log target, smearing factor, fallback mean) on positive targets."""
        ok = np.isfinite(target) & (target > 0)
        fallback = float(np.mean(target[ok])) if ok.any() else 0.0
        if ok.sum() < 5:
            return None, 1.0, fallback
        logy = np.log(target[ok])
        model = self._regressor(int(ok.sum())).fit(X[ok], logy)
        smearing = float(np.mean(np.exp(logy - model.predict(X[ok]))))
        return model, smearing, fallback

    def fit(self, features: pd.DataFrame, outcomes: pd.DataFrame) -> LeadScorer:
        """Fit on the resolved leads of `outcomes` (columns opportunity, won, won_amount, effort_hours, resolved);
        `result_` is the lead table of every lead in `features`, open or resolved."""
        data = features.join(outcomes, how="inner")
        if "resolved" in data:
            data = data[data["resolved"].astype(bool)]
        self.train_index_ = data.index
        self.features_ = feature_columns(features)
        won_all = data["won"].to_numpy().astype(int)
        self.leaky_ = leaky_columns(data[self.features_], won_all) if self.exclude_leaky else {}
        self.features_ = [c for c in self.features_ if c not in self.leaky_]
        X = data[self.features_]
        self._template_ = X
        won = data["won"].to_numpy().astype(int)
        opp = np.maximum(data["opportunity"].to_numpy().astype(int), won)
        self.n_train_, self.n_conversions_ = len(data), int(won.sum())
        self.base_rates_ = {
            "opportunity": (opp.sum() + 1) / (len(opp) + 2),
            "win": (won.sum() + 1) / (len(won) + 2),
        }
        if len(data) >= self.min_leads and won.sum() >= self.min_conversions:
            self.model_ = LIGHTGBM
        elif won.sum() >= 5:
            self.model_ = SMALL_DATA
        else:
            self.model_ = PRIOR_ONLY
        self.directions_ = self._directions(X, won)
        self.opportunity_ = self._fit_classifier(X, opp) if self.model_ != PRIOR_ONLY else None
        self.win_ = self._fit_classifier(X, won) if self.model_ != PRIOR_ONLY else None
        won_rows = won == 1
        amounts = data["won_amount"].to_numpy(float)
        hours = data["effort_hours"].to_numpy(float)
        Xw = X[won_rows]
        self.amount_, self.amount_smearing_, self.amount_mean_ = self._fit_regression(Xw, amounts[won_rows])
        # effort: hours on every worked lead (won or not), so a lead that rarely converts is not
        # priced at the work of a won deal; never-worked leads (0 h) say nothing about effort
        self.effort_, self.effort_smearing_, self.effort_mean_ = self._fit_regression(X, hours)
        if self.amount_mean_ == 0.0:
            self.amount_mean_ = float(np.mean(amounts[amounts > 0])) if (amounts > 0).any() else 0.0
        if self.effort_mean_ == 0.0:
            self.effort_mean_ = float(np.mean(hours[hours > 0])) if (hours > 0).any() else 1.0
        self._fit_conformal(X, data, won)
        self.result_ = self.score(features)
        return self

    def _directions(self, X: pd.DataFrame, won: np.ndarray) -> dict[str, dict]:
        """Known directions, checked against the data: held unless its interval shows the opposite sign."""
        from fairshare.config import ScoringSettings

        known = ScoringSettings().monotone if self.monotone is None else self.monotone
        out = {}
        for feature, sign in known.items():
            if feature not in X or not pd.api.types.is_numeric_dtype(X[feature]):
                continue
            x = X[feature].to_numpy(float)
            rho, low, high, n = direction_evidence(x, won, self.level)
            opposite = low > 0 if sign < 0 else high < 0
            typical = float(np.nanmedian(x)) if np.isfinite(x).any() else float("nan")
            out[feature] = {"known": int(sign), "held": not opposite, "rho": rho, "low": low, "high": high,
                            "n": n, "typical": typical}  # fmt: skip
        return out

    def out_of_fold(self) -> pd.DataFrame:
        """Cross-validated (out-of-fold) p_opportunity and p_win of the training leads, indexed by lead_id.

        Use these, not `score`, to compare outcomes with expectations on the same leads (rep ratings):
        in-sample predictions have already seen the outcomes.
        """
        p_win = self._oof_p_win(None)
        if self.opportunity_ is not None:
            p_opp = self.opportunity_.calibrator_.predict(self.opportunity_.oof_score_)
        else:
            p_opp = np.full(len(self.train_index_), self.base_rates_["opportunity"])
        return pd.DataFrame(
            {"p_opportunity": np.maximum(p_opp, p_win), "p_win": p_win}, index=self.train_index_
        )

    def _oof_p_win(self, X: pd.DataFrame | None) -> np.ndarray:
        if self.win_ is None:
            return np.full(len(self.train_index_), self.base_rates_["win"])
        return self.win_.calibrator_.predict(self.win_.oof_score_)

    def _fit_conformal(self, X: pd.DataFrame, data: pd.DataFrame, won: np.ndarray) -> None:
        """Split-conformal interval of the realized value (won amount or 0) around the predicted value."""
        from mapie.regression import SplitConformalRegressor

        self.conformal_ = None
        if len(X) <= max(1.0 / self.level, 1.0 / (1.0 - self.level)):  # MAPIE's minimum calibration set
            return
        value = self._oof_p_win(X) * self._amount(X)
        realized = np.where(won == 1, data["won_amount"].to_numpy(float), 0.0)
        self.conformal_ = SplitConformalRegressor(
            ValueIdentity().fit(None), confidence_level=self.level, prefit=True
        )
        self.conformal_.conformalize(value.reshape(-1, 1), realized)

    # --- predicting --------------------------------------------------------------------------

    def _amount(self, X: pd.DataFrame) -> np.ndarray:
        if self.amount_ is None:
            return np.full(len(X), self.amount_mean_)
        return np.exp(self.amount_.predict(X)) * self.amount_smearing_

    def _effort(self, X: pd.DataFrame) -> np.ndarray:
        if self.effort_ is None:
            return np.full(len(X), self.effort_mean_)
        return np.exp(self.effort_.predict(X)) * self.effort_smearing_

    def predict_proba_win(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated P(win) of each lead."""
        X = features[self.features_]
        return (
            self.win_.predict_proba(X)[:, 1]
            if self.win_ is not None
            else np.full(len(X), self.base_rates_["win"])
        )

    def score(self, features: pd.DataFrame) -> pd.DataFrame:
        """The lead result table (columns `LEAD_COLUMNS`), highest value first."""
        X = features[self.features_]
        p_win = self.predict_proba_win(features)
        if self.opportunity_ is not None:
            p_opp = self.opportunity_.predict_proba(X)[:, 1]
        else:
            p_opp = np.full(len(X), self.base_rates_["opportunity"])
        p_opp = np.maximum(p_opp, p_win)
        amount = self._amount(X)
        value = p_win * amount
        model = self.model_
        if self.conformal_ is not None:
            _, bounds = self.conformal_.predict_interval(value.reshape(-1, 1))
            low, high = np.maximum(bounds[:, 0, 0], 0.0), bounds[:, 1, 0]
        else:  # too few resolved leads to calibrate an interval
            low = high = np.full(len(X), np.nan)
            plural = "" if self.n_train_ == 1 else "s"
            model = f"{self.model_}; no value interval ({self.n_train_} resolved lead{plural})"
        effort = np.maximum(self._effort(X), 1e-3)
        out = pd.DataFrame(
            {
                "lead_id": features.index.to_numpy(),
                "account_id": features["account_id"].to_numpy() if "account_id" in features else None,
                "p_opportunity": p_opp,
                "p_win": p_win,
                "expected_amount": amount,
                "value": value,
                "value_low": low,
                "value_high": high,
                "effort_hours": effort,
                "value_per_hour": value / effort,
                "reasons": self.reasons(features),
                "model": model,
            }
        )
        return out.sort_values(["value", "lead_id"], ascending=[False, True], kind="stable").reset_index(
            drop=True
        )

    # --- reasons -----------------------------------------------------------------------------

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per lead and source feature: the contribution to the log-odds of winning (rows = leads)."""
        X = features[self.features_]
        if self.win_ is None:
            return pd.DataFrame(0.0, index=features.index, columns=self.features_)
        pipe = self.win_.estimator_
        encoded = pipe[:-1].transform(X)
        if self.model_ == LIGHTGBM:
            raw = pipe[-1].predict(encoded, pred_contrib=True)[:, :-1]
            names = list(encoded.columns)
            source = pipe.named_steps["features"].names_
        else:
            coef = pipe[-1].coef_[0]
            dense = encoded.toarray() if hasattr(encoded, "toarray") else np.asarray(encoded)
            raw = dense * coef  # standardized numbers and one-hot answers: centred by the prior's intercept
            raw = raw - (np.asarray(pipe[:-1].transform(self._template_).mean(axis=0)).ravel() * coef)
            names = list(pipe[:-1].get_feature_names_out())
            source = {n: _source_of(n, self.features_) for n in names}
        position = {f: i for i, f in enumerate(self.features_)}
        summed = np.zeros((raw.shape[0], len(self.features_)))
        for j, name in enumerate(names):
            k = position.get(source.get(name, name))
            if k is not None:
                summed[:, k] += raw[:, j]
        return pd.DataFrame(summed, index=features.index, columns=self.features_)

    def reasons(self, features: pd.DataFrame) -> list[str]:
        """The top `n_reasons` contributions per lead in plain words, '; '-joined (deterministic)."""
        contrib = self.contributions(features)
        contrib = contrib[sorted(contrib.columns)]  # ties broken by feature name: deterministic
        names = list(contrib.columns)
        values = contrib.to_numpy()
        top = np.argsort(-np.abs(values), axis=1, kind="stable")[:, : self.n_reasons]
        columns = [features[n].to_numpy(dtype=object) for n in names]
        out = []
        for i in range(len(values)):
            parts = []
            for j in top[i]:
                c = values[i, j]
                if abs(c) < 1e-9:
                    continue
                parts.append(self._reason(names[j], columns[j][i], c))
            out.append("; ".join(parts) if parts else "no strong signal")
        return out

    def _reason(self, feature: str, value: object, contribution: float) -> str:
        """One reason; a known-direction feature also says how it compares, and when the data overrode it."""
        effect = "raises" if contribution > 0 else "lowers"
        words = phrase(feature, value)
        d = getattr(self, "directions_", {}).get(feature)
        if d is None or value is None or (isinstance(value, float) and np.isnan(value)):
            return f"{words} ({effect} P(win))"
        if d["held"]:
            higher = (contribution > 0) == (d["known"] > 0)  # the feature is above the typical lead's
            side = ("more" if higher else "less") if d["known"] > 0 else ("later" if higher else "sooner")
            return f"{words}, {side} than typical ({effect} P(win))"
        return (
            f"{words} ({effect} P(win); this workspace's resolved leads show the unusual direction: "
            f"rank correlation with winning {d['rho']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}], n={d['n']})"
        )

    def explain(self, features: pd.DataFrame, lead_id: str) -> pd.DataFrame:
        """Every feature of one lead: value, contribution to the log-odds of winning, plain words."""
        if lead_id not in features.index:
            raise KeyError(f"no lead {lead_id!r}")
        one = features.loc[[lead_id]]
        contrib = self.contributions(one).iloc[0]
        rows = [
            {
                "feature": f,
                "value": one.at[lead_id, f],
                "contribution": float(contrib[f]),
                "reason": phrase(f, one.at[lead_id, f]),
            }
            for f in self.features_
        ]
        out = pd.DataFrame(rows)
        out["value"] = out["value"].map(lambda v: v if isinstance(v, str) or v is None else f"{float(v):.4g}")
        order = out["contribution"].abs().sort_values(ascending=False, kind="stable").index
        return out.loc[order].reset_index(drop=True)


def _source_of(encoded_name: str, features: list[str]) -> str:
    """The source feature of a one-hot/linear column name (longest matching prefix)."""
    best = encoded_name
    for f in sorted(features, key=len, reverse=True):
        if encoded_name == f or encoded_name.startswith(f + "_"):
            return f
    return best
