"""The estimators the lead model is built from: LightGBM with known directions held monotone, the
small-data column encoding, and a pass-through regressor that lets MAPIE conformalize a given value."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


class ValueIdentity(RegressorMixin, BaseEstimator):
    """A prefitted 'regressor' that returns its input: lets MAPIE conformalize a given value."""

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> ValueIdentity:
        self.n_features_in_ = 1
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=float)[:, 0]


def boosting(kind: str, random_state: int) -> object:
    """The LightGBM classifier or regressor of the lead model (small, shallow, deterministic trees)."""
    import lightgbm as lgb

    common = dict(
        n_estimators=150, learning_rate=0.06, num_leaves=7, min_child_samples=30, subsample=0.8, subsample_freq=1,
        colsample_bytree=0.4, reg_lambda=5.0, random_state=random_state, n_jobs=1, verbose=-1, deterministic=True,
        force_col_wise=True,
    )  # fmt: skip
    return lgb.LGBMClassifier(**common) if kind == "classifier" else lgb.LGBMRegressor(**common)


def linear_columns(frame: pd.DataFrame) -> ColumnTransformer:
    """Numbers imputed and standardized, answers one-hot encoded: the inputs of the small-data models."""
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    categorical = [c for c in frame.columns if c not in numeric]
    return ColumnTransformer(
        [
            (
                "numbers",
                make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()),
                numeric,
            ),
            (
                "answers",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)", keep_empty_features=True),
                    OneHotEncoder(handle_unknown="ignore", min_frequency=3, sparse_output=False),
                ),
                categorical,
            ),
        ],
        verbose_feature_names_out=False,
    )


class MonotoneBoosting(ClassifierMixin, BaseEstimator):
    """The LightGBM classifier with the features named in `directions` held monotone (+1 rising, -1 falling).

    A wrapper because the encoded column order is only known at fit time (constraints are positional).
    """

    def __init__(self, directions: dict[str, int] | None = None, random_state: int = 0):
        self.directions = directions
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> MonotoneBoosting:
        model = boosting("classifier", self.random_state)
        directions = self.directions or {}
        if any(directions.get(c, 0) for c in X.columns):
            model.set_params(
                monotone_constraints=[int(directions.get(c, 0)) for c in X.columns],
                monotone_constraints_method="intermediate",
            )
        self.model_ = model.fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(X)

    def predict(self, X: pd.DataFrame, **kwargs: object) -> np.ndarray:
        return self.model_.predict(X, **kwargs)
