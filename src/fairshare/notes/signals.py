"""Deal signals from notes, as of a point in time, and what they add to "this deal will be won".

`note_features(notes, deals, themes)` reads, for each deal at its `as_of`, only notes written
strictly before both the as-of time and the deal's close: a "Contract signed" or "Closed lost: ..."
note is the outcome, not a signal. Features: notes per theme, mean / last sentiment, sentiment trend
(last minus first), days since the last positive note, number of notes.

`DealSignals().fit(notes, deals, themes)` cross-validates (stratified k-fold) a logistic model of
is_won for closed deals still open `as_of_days` after creation, with and without the note features;
`result_` rows: model (with_notes / without_notes), metric (roc_auc), mean, std, n_deals, as_of_days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SIGNAL_COLUMNS = ["model", "metric", "mean", "std", "n_deals", "as_of_days"]
#: deal columns `fit` needs (one row per opportunity)
DEAL_COLUMNS = ("opportunity_id", "created_at", "closed_at", "is_closed", "is_won", "amount")


def usable_notes(notes: pd.DataFrame, as_of: pd.Series) -> pd.DataFrame:
    """Notes written strictly before their deal's as-of time and strictly before its close."""
    at = pd.to_datetime(notes["at"], utc=True)
    cut = pd.to_datetime(notes["opportunity_id"].map(as_of), utc=True)
    closed = pd.to_datetime(notes["closed_at"], utc=True)
    keep = cut.notna() & (at < cut) & (closed.isna() | (at < closed))
    return notes[keep.to_numpy()]


def note_features(
    notes: pd.DataFrame, as_of: pd.Series, n_themes: int, positive: float = 0.05
) -> pd.DataFrame:
    """Per deal (index of `as_of`: opportunity_id → time): point-in-time note features.

    `notes` has opportunity_id, at, closed_at, theme_id, sentiment (from `NoteThemes.notes_` joined to
    the deal's close); only `usable_notes` are read.
    """
    use = usable_notes(notes, as_of).sort_values("at")
    out = pd.DataFrame(index=pd.Index(as_of.index, name="opportunity_id"))
    counts = pd.crosstab(use["opportunity_id"], use["theme_id"]).reindex(
        columns=range(n_themes), fill_value=0
    )
    for t in range(n_themes):
        out[f"theme_{t}"] = counts[t].reindex(out.index).fillna(0).to_numpy() if len(counts) else 0.0
    g = use.groupby("opportunity_id")["sentiment"]
    out["n_notes"] = g.size().reindex(out.index).fillna(0)
    out["sentiment_mean"] = g.mean().reindex(out.index).fillna(0.0)
    out["sentiment_last"] = g.last().reindex(out.index).fillna(0.0)
    out["sentiment_trend"] = (g.last() - g.first()).reindex(out.index).fillna(0.0)
    pos = use[use["sentiment"] >= positive].groupby("opportunity_id")["at"].max()
    cut = pd.to_datetime(as_of, utc=True)
    last_pos = pd.to_datetime(pos, utc=True).reindex(out.index)
    out["days_since_positive"] = ((cut - last_pos).dt.total_seconds() / 86400).fillna(365.0).to_numpy()
    return out


def base_features(deals: pd.DataFrame, activities: pd.DataFrame, stages: pd.DataFrame, as_of: pd.Series) -> pd.DataFrame:  # fmt: skip
    """Point-in-time deal features without notes: log amount, stage index reached, activities so far,
    days since the last activity, segment one-hots."""
    out = pd.DataFrame(index=pd.Index(as_of.index, name="opportunity_id"))
    d = deals.set_index("opportunity_id").reindex(out.index)
    out["log_amount"] = np.log1p(d["amount"].astype(float).fillna(0).to_numpy())
    cut_s = pd.to_datetime(as_of, utc=True)
    for name, frame in (("stage", stages), ("act", activities)):
        f = frame[frame["opportunity_id"].isin(out.index)].copy()
        f["cut"] = pd.to_datetime(f["opportunity_id"].map(as_of), utc=True)
        f = f[pd.to_datetime(f["at"], utc=True) < f["cut"]]
        if name == "stage":
            out["stage_index"] = f.groupby("opportunity_id")["stage_index"].max().reindex(out.index).fillna(0)
        else:
            out["activities"] = f.groupby("opportunity_id").size().reindex(out.index).fillna(0)
            last = pd.to_datetime(f.groupby("opportunity_id")["at"].max(), utc=True).reindex(out.index)
            out["days_since_activity"] = ((cut_s - last).dt.total_seconds() / 86400).fillna(365.0).to_numpy()
    for col in ("size_band", "region", "industry", "source_team"):
        if col in d.columns:
            dummies = pd.get_dummies(d[col].astype(str), prefix=col, dtype=float)
            out = pd.concat([out, dummies.set_index(out.index)], axis=1)
    return out


class DealSignals(BaseEstimator):
    """Cross-validated AUC of "this deal will be won" with and without point-in-time note features."""

    def __init__(
        self, as_of_days: float = 14.0, n_splits: int = 5, positive: float = 0.05, random_state: int = 0
    ):
        self.as_of_days = as_of_days
        self.n_splits = n_splits
        self.positive = positive
        self.random_state = random_state

    def fit(self, deals: pd.DataFrame, notes: pd.DataFrame, activities: pd.DataFrame, stages: pd.DataFrame,
            n_themes: int) -> DealSignals:  # fmt: skip
        """`deals`: DEAL_COLUMNS (+ segments); `notes`: theme-tagged notes with closed_at; `activities`:
        opportunity_id, at; `stages`: opportunity_id, at, stage_index."""
        missing = [c for c in DEAL_COLUMNS if c not in deals.columns]
        if missing:
            raise ValueError(f"deals lack columns: {', '.join(missing)}")
        created = pd.to_datetime(deals["created_at"], utc=True)
        closed = pd.to_datetime(deals["closed_at"], utc=True)
        as_of_t = created + pd.Timedelta(days=float(self.as_of_days))
        keep = deals["is_closed"].fillna(False).astype(bool).to_numpy() & (closed > as_of_t).to_numpy()
        sub = deals[keep]
        as_of = pd.Series(as_of_t[keep].to_numpy(), index=sub["opportunity_id"].to_numpy())
        y = sub["is_won"].fillna(False).astype(int).to_numpy()
        base = base_features(sub, activities, stages, as_of)
        self.features_ = pd.concat([base, note_features(notes, as_of, n_themes, self.positive)], axis=1)
        rows = []
        if len(y) < 2 * self.n_splits or y.min() == y.max() or min(y.sum(), (1 - y).sum()) < self.n_splits:
            raise ValueError(
                f"{len(y)} deals open at day {self.as_of_days} are too few (or one outcome) to cross-validate"
            )
        folds = StratifiedKFold(self.n_splits, shuffle=True, random_state=self.random_state)
        for model, cols in (
            ("with_notes", list(self.features_.columns)),
            ("without_notes", list(base.columns)),
        ):
            x = self.features_[cols].to_numpy(float)
            aucs = []
            for train, test in folds.split(x, y):
                clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))
                clf.fit(x[train], y[train])
                aucs.append(roc_auc_score(y[test], clf.predict_proba(x[test])[:, 1]))
            rows.append({"model": model, "metric": "roc_auc", "mean": float(np.mean(aucs)),
                         "std": float(np.std(aucs, ddof=1)), "n_deals": int(len(y)),
                         "as_of_days": float(self.as_of_days)})  # fmt: skip
        self.result_ = pd.DataFrame(rows, columns=SIGNAL_COLUMNS)
        return self
