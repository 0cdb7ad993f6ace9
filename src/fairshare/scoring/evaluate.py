"""Cross-validated evaluation of lead scoring on any flat lead table (one row per lead).

`evaluate_leads(frame, target)` runs stratified k-fold CV of the main learner (LightGBM on generic
lead features, calibrated inside the training folds) next to a one-hot logistic-regression baseline
in the same folds, and returns one row per (model, metric) with the mean, the spread and every
fold's value. Metrics:

- `roc_auc`, `pr_auc` (average precision), `brier` (mean squared error of the probability);
- `ece`: expected calibration error, 10 equal-width probability bins, weighted by bin size;
- `top_decile_lift`: conversion rate of the 10% highest-scored leads over the overall rate.

Generic feature preparation (no data-set specific rules): placeholder answers such as `Select`
or `--None--` count as missing; categorical answers are compared case- and space-insensitively;
rare answers are pooled; each categorical answer also gets its frequency (learned on the training
rows only); the number of unanswered fields is a feature; two-valued answers become 0/1. Columns
whose values are all distinct (identifiers) are left out and listed in the result's
`attrs["excluded"]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairshare.scoring.calibration import CalibratedClassifier
from fairshare.scoring.features import leaky_columns

#: Answers that mean "not filled in" in CRM and web-form exports.
PLACEHOLDERS: tuple[str, ...] = ("Select", "--None--", "None", "N/A", "n/a", "NA", "null", "NULL", "-", "")
POSITIVE_LABELS = {"1", "true", "yes", "y", "won", "converted", "t"}
OTHER = "(other)"
MODELS = ("lightgbm", "logistic baseline")
METRICS = ("roc_auc", "pr_auc", "brier", "ece", "top_decile_lift")


# --- metrics ------------------------------------------------------------------------------------


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Σ_bins (n_bin / n) · |mean(p) − mean(y)| over equal-width probability bins."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return float(total)


def top_decile_lift(y: np.ndarray, p: np.ndarray, share: float = 0.1) -> float:
    """Conversion rate among the `share` highest-scored rows divided by the overall rate."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    k = max(1, int(round(share * len(y))))
    top = np.argsort(-p, kind="stable")[:k]
    base = y.mean()
    return float(y[top].mean() / base) if base > 0 else float("nan")


def lead_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """All evaluation metrics of predicted probabilities `p` against outcomes `y`."""
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p),
        "top_decile_lift": top_decile_lift(y, p),
    }


# --- preparing a flat table ---------------------------------------------------------------------


def read_lead_table(path: str | Path) -> pd.DataFrame:
    """A CSV or Parquet lead table; empty unnamed columns (trailing commas) are dropped."""
    path = Path(path)
    frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    empty = [c for c in frame.columns if str(c).startswith("Unnamed:") and frame[c].isna().all()]
    return frame.drop(columns=empty)


def target_vector(values: pd.Series) -> np.ndarray:
    """0/1 outcomes from numbers, booleans or labels such as yes/no, won/lost."""
    if values.isna().any():
        raise ValueError(f"target column {values.name!r} has {int(values.isna().sum())} missing values")
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        levels = set(pd.unique(values.astype(float)))
        if not levels <= {0.0, 1.0}:
            raise ValueError(f"target column {values.name!r} must be 0/1, found {sorted(levels)[:5]}")
        return values.astype(float).astype(int).to_numpy()
    text = values.astype(str).str.strip().str.lower()
    if text.nunique() != 2:
        raise ValueError(f"target column {values.name!r} must have two values, found {text.nunique()}")
    return text.isin(POSITIVE_LABELS).astype(int).to_numpy()


def identifier_columns(frame: pd.DataFrame) -> list[str]:
    """Columns that look like identifiers: every value distinct and not a float measurement."""
    n = len(frame)
    return [
        c
        for c in frame.columns
        if n > 20
        and frame[c].notna().all()
        and frame[c].nunique() == n
        and not pd.api.types.is_float_dtype(frame[c])
    ]


def clean_answers(frame: pd.DataFrame, missing_values: Iterable[str] = PLACEHOLDERS) -> pd.DataFrame:
    """Placeholders → missing; text answers stripped and case-folded (`Google` = `google`)."""
    missing = {m.strip().lower() for m in missing_values}
    out = {}
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            out[c] = s.astype(float)
            continue
        text = s.astype("string").str.strip().str.replace(r"\s+", " ", regex=True).str.lower()
        text = text.mask(text.isin(missing))
        numbers = pd.to_numeric(text, errors="coerce")
        if text.notna().any() and numbers.notna().sum() >= 0.95 * text.notna().sum():
            out[c] = numbers.astype(float)
        else:
            out[c] = text.astype(object).where(text.notna(), np.nan)
    return pd.DataFrame(out, index=frame.index)


def feature_name(column: str) -> str:
    """A LightGBM-safe feature name for `column`."""
    return re.sub(r"[^0-9A-Za-z_]+", "_", str(column)).strip("_") or "column"


class LeadFeatureEncoder(TransformerMixin, BaseEstimator):
    """Generic features of a cleaned flat lead table (see `clean_answers`).

    Numbers pass through. A two-valued answer becomes 0/1. Other answers become a categorical
    feature (answers seen fewer than `min_count` times pooled as "(other)") plus, with
    `frequency=True`, how common the answer is among the training rows. `missing_count=True`
    adds the number of unanswered fields. Learned: `numeric_`, `binary_` ({column: positive
    answer}), `levels_` ({column: answers kept}), `frequency_` ({column: Series}), `names_`
    ({feature: source column}).
    """

    def __init__(self, min_count: int = 20, frequency: bool = True, missing_count: bool = True):
        self.min_count = min_count
        self.frequency = frequency
        self.missing_count = missing_count

    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> LeadFeatureEncoder:
        self.columns_ = list(X.columns)
        self.numeric_ = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
        self.binary_, self.levels_, self.frequency_ = {}, {}, {}
        for c in X.columns:
            if c in self.numeric_:
                continue
            counts = X[c].value_counts()
            if len(counts) <= 1:
                continue  # constant answer: no information
            if len(counts) == 2:
                self.binary_[c] = sorted(counts.index)[-1]
                continue
            self.levels_[c] = sorted(counts[counts >= self.min_count].index)
            self.frequency_[c] = counts / len(X)
        self.names_ = {}
        for c in self.numeric_:
            self.names_[feature_name(c)] = c
        for c in self.binary_:
            self.names_[feature_name(c)] = c
        for c in self.levels_:
            self.names_[feature_name(c)] = c
            if self.frequency:
                self.names_[feature_name(c) + "__frequency"] = c
        if self.missing_count:
            self.names_["unanswered_fields"] = "(unanswered fields)"
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        cols: dict[str, pd.Series] = {}
        for c in self.numeric_:
            cols[feature_name(c)] = X[c].astype(float)
        for c, positive in self.binary_.items():
            cols[feature_name(c)] = (X[c] == positive).astype(float).where(X[c].notna())
        for c, levels in self.levels_.items():
            pooled = X[c].where(X[c].isin(levels) | X[c].isna(), OTHER)
            cols[feature_name(c)] = pd.Series(
                pd.Categorical(pooled, categories=[*levels, OTHER]), index=X.index
            )
            if self.frequency:
                cols[feature_name(c) + "__frequency"] = X[c].map(self.frequency_[c]).astype(float).fillna(0.0)
        if self.missing_count:
            cols["unanswered_fields"] = X[self.columns_].isna().sum(axis=1).astype(float)
        return pd.DataFrame(cols, index=X.index)


def lightgbm_classifier(random_state: int = 0, n_estimators: int = 600) -> object:
    """The main learner: shallow, slow-learning, column-subsampled gradient boosting.

    The learning rate is 0.02 at 600 rounds and scales so that rounds × rate stays 12.
    """
    import lightgbm as lgb

    return lgb.LGBMClassifier(
        n_estimators=n_estimators,
        learning_rate=min(0.2, 12.0 / n_estimators),
        num_leaves=7,
        min_child_samples=40,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.5,
        reg_lambda=5.0,
        random_state=random_state,
        n_jobs=1,
        verbose=-1,
    )


def lightgbm_pipeline(random_state: int = 0, n_estimators: int = 600) -> Pipeline:
    """Generic lead features, then LightGBM."""
    return Pipeline(
        [("features", LeadFeatureEncoder()), ("model", lightgbm_classifier(random_state, n_estimators))]
    )


def logistic_baseline(frame: pd.DataFrame, C: float = 1.0) -> Pipeline:
    """One-hot logistic regression (L2, C=1): numbers median-imputed and standardized."""
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    categorical = [c for c in frame.columns if c not in numeric]
    columns = ColumnTransformer(
        [
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "answers",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                categorical,
            ),
        ]
    )
    return make_pipeline(columns, LogisticRegression(C=C, solver="newton-cholesky", max_iter=200))


# --- the evaluation -----------------------------------------------------------------------------


def evaluate_leads(
    frame: pd.DataFrame,
    target: str,
    id_column: str | None = None,
    drop: Sequence[str] = (),
    n_splits: int = 5,
    random_state: int = 0,
    missing_values: Iterable[str] = PLACEHOLDERS,
    calibration_cv: int = 5,
    n_estimators: int = 600,
    keep_leaky: bool = False,
) -> pd.DataFrame:
    """Stratified k-fold CV of the calibrated LightGBM model and the logistic baseline.

    Calibration is chosen and fitted inside each training fold (`calibration_cv` inner folds).

    Returns columns model, metric, mean, std, fold_1 … fold_k (one row per model and metric).
    `attrs` holds `excluded` (identifier columns left out), `leaky` ({column: why} for columns that
    alone predict the target with AUC > 0.95, left out unless `keep_leaky`), `calibration` (method
    chosen in each fold), `rows`, `positives` and `features`.
    """
    missing = [c for c in [target, id_column, *drop] if c is not None and c not in frame.columns]
    if missing:
        raise KeyError(
            f"no such column(s): {', '.join(missing)}; columns are: {', '.join(map(str, frame.columns))}"
        )
    y = target_vector(frame[target])
    if min(np.bincount(y, minlength=2)) < n_splits:
        raise ValueError(f"need at least {n_splits} leads of each outcome for {n_splits}-fold CV")
    X = frame.drop(columns=[c for c in [target, id_column, *drop] if c is not None])
    excluded = identifier_columns(X)
    X = clean_answers(X.drop(columns=excluded), missing_values)
    leaky = leaky_columns(X, y)  # e.g. fields filled in only for converted leads
    if not keep_leaky:
        X = X.drop(columns=list(leaky))
    if X.shape[1] == 0:
        raise ValueError("no feature columns left after dropping the target, ids and --drop columns")

    folds = StratifiedKFold(n_splits, shuffle=True, random_state=random_state).split(X, y)
    values: dict[tuple[str, str], list[float]] = {}
    calibration = []
    for k, (tr, te) in enumerate(folds):
        main = CalibratedClassifier(
            lightgbm_pipeline(random_state + k, n_estimators),
            cv=calibration_cv,
            random_state=random_state + k,
        )
        main.fit(X.iloc[tr], y[tr])
        calibration.append(main.calibration_)
        baseline = logistic_baseline(X).fit(X.iloc[tr], y[tr])
        for model, p in (
            (MODELS[0], main.predict_proba(X.iloc[te])[:, 1]),
            (MODELS[1], baseline.predict_proba(X.iloc[te])[:, 1]),
        ):
            for metric, v in lead_metrics(y[te], p).items():
                values.setdefault((model, metric), []).append(v)
    rows = []
    for (model, metric), v in values.items():
        row = {"model": model, "metric": metric, "mean": float(np.mean(v)), "std": float(np.std(v, ddof=1))}
        row.update({f"fold_{i + 1}": x for i, x in enumerate(v)})
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update(
        excluded=excluded,
        leaky=leaky,
        calibration=calibration,
        rows=len(y),
        positives=int(y.sum()),
        features=X.shape[1],
    )
    return out
