"""Calibrated probabilities: a classifier wrapped with cross-validated isotonic or Platt scaling.

The calibrator is chosen inside the training data: out-of-fold scores of the base classifier are
calibrated both ways, each calibrator is scored by cross-validated log loss on those out-of-fold
scores, and the winner is refitted on all of them. The base classifier is then refitted on all the
training rows; its scores pass through the chosen calibrator.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


class PlattScaling:
    """Logistic regression on the logit of the score."""

    def fit(self, score: np.ndarray, y: np.ndarray) -> PlattScaling:
        self.model_ = LogisticRegression(C=1e4, solver="newton-cholesky").fit(_logit(score).reshape(-1, 1), y)
        return self

    def predict(self, score: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(_logit(score).reshape(-1, 1))[:, 1]


class IsotonicScaling:
    """Monotone step function from score to probability."""

    def fit(self, score: np.ndarray, y: np.ndarray) -> IsotonicScaling:
        self.model_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(score, y)
        return self

    def predict(self, score: np.ndarray) -> np.ndarray:
        return np.clip(self.model_.predict(score), EPS, 1 - EPS)


CALIBRATORS = {"platt": PlattScaling, "isotonic": IsotonicScaling}


def choose_calibrator(
    score: np.ndarray, y: np.ndarray, cv: int = 5, random_state: int = 0
) -> tuple[str, dict]:
    """The calibration method with the lower cross-validated log loss on (out-of-fold) scores."""
    losses: dict[str, float] = {}
    folds = list(StratifiedKFold(cv, shuffle=True, random_state=random_state).split(score, y))
    for name, cls in CALIBRATORS.items():
        pred = np.empty(len(y))
        for tr, te in folds:
            pred[te] = cls().fit(score[tr], y[tr]).predict(score[te])
        losses[name] = float(log_loss(y, np.clip(pred, EPS, 1 - EPS), labels=[0, 1]))
    return min(losses, key=losses.get), losses


class CalibratedClassifier(ClassifierMixin, BaseEstimator):
    """`estimator` with probabilities calibrated by the better of isotonic and Platt (CV log loss).

    Learned: `estimator_` (fitted on all rows), `calibration_` ("isotonic" or "platt"),
    `calibration_losses_` (CV log loss of each method), `calibrator_`, `oof_score_` (raw
    out-of-fold scores of the training rows).
    """

    def __init__(self, estimator: BaseEstimator, cv: int = 5, method: str = "auto", random_state: int = 0):
        self.estimator = estimator
        self.cv = cv
        self.method = method
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> CalibratedClassifier:
        y = np.asarray(y).astype(int)
        self.classes_ = np.array([0, 1])
        n_splits = max(2, min(self.cv, int(np.bincount(y, minlength=2).min())))
        oof = np.empty(len(y))
        for tr, te in StratifiedKFold(n_splits, shuffle=True, random_state=self.random_state).split(X, y):
            model = clone(self.estimator).fit(_rows(X, tr), y[tr])
            oof[te] = model.predict_proba(_rows(X, te))[:, 1]
        self.oof_score_ = oof
        if self.method == "auto":
            self.calibration_, self.calibration_losses_ = choose_calibrator(
                oof, y, cv=n_splits, random_state=self.random_state
            )
        else:
            self.calibration_, self.calibration_losses_ = self.method, {}
        self.calibrator_ = CALIBRATORS[self.calibration_]().fit(oof, y)
        self.estimator_ = clone(self.estimator).fit(X, y)
        return self

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """The base classifier's uncalibrated P(y=1)."""
        return self.estimator_.predict_proba(X)[:, 1]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.calibrator_.predict(self.raw_score(X))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def _rows(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]
