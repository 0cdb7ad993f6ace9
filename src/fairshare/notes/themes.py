"""Themes in activity notes without labels (TF-IDF + NMF), their sentiment and how deals with them end.

`NoteThemes().fit(notes)` learns `n_themes` themes from the note texts (words and two-word phrases
weighted by TF-IDF, factorised by NMF), gives each note its strongest theme and each theme a label
from its top phrases. `result_` has one row per theme: theme (label), top_terms, n_notes, n_deals,
share_deals, win_rate, win_rate_without, lift (win rate of closed deals with the theme over closed
deals without it) with a delta-method interval on log(lift), stage (the funnel stage where the theme
is written most), share_at_close (notes at or after the deal's close: a theme that states the outcome
is not a signal), sentiment (mean VADER compound) and examples. Nothing is downloaded: VADER's
lexicon ships in its wheel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.base import BaseEstimator
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer

THEME_COLUMNS = [
    "theme", "theme_id", "top_terms", "n_notes", "n_deals", "share_deals", "win_rate", "win_rate_without", "lift",
    "ci_low", "ci_high", "stage", "share_at_close", "sentiment", "examples",
]  # fmt: skip
NOTE_COLUMNS = ["opportunity_id", "at", "theme_id", "sentiment", "stage", "at_close"]
#: columns `fit` needs in `notes`
NEEDED = ("activity_id", "opportunity_id", "at", "note", "is_closed", "is_won", "closed_at")


def sentiment(texts) -> np.ndarray:
    """VADER compound sentiment (-1..1) of each text (the lexicon ships in the vaderSentiment wheel)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return np.asarray([analyzer.polarity_scores(str(t))["compound"] for t in texts], dtype=float)


def label_of(terms: list[str], size: int = 3) -> str:
    """A readable label: the top phrases, skipping a word already inside a chosen phrase."""
    chosen: list[str] = []
    for term in terms:
        if any(term in c.split() or c in term.split() for c in chosen):
            continue
        chosen.append(term)
        if len(chosen) == size:
            break
    return " / ".join(chosen)


def lift_interval(a: np.ndarray, n1: np.ndarray, c: np.ndarray, n2: np.ndarray, level: float = 0.9):
    """Risk ratio (a/n1)/(c/n2) with a delta-method interval on its log (½ added to empty cells)."""
    a, n1, c, n2 = (np.asarray(v, float) for v in (a, n1, c, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = (a / n1) / (c / n2)
        a_, c_ = np.where((a == 0) | (c == 0), a + 0.5, a), np.where((a == 0) | (c == 0), c + 0.5, c)
        n1_, n2_ = np.where((a == 0) | (c == 0), n1 + 0.5, n1), np.where((a == 0) | (c == 0), n2 + 0.5, n2)
        log_rr = np.log((a_ / n1_) / (c_ / n2_))
        se = np.sqrt(1 / a_ - 1 / n1_ + 1 / c_ - 1 / n2_)
    z = norm.ppf(0.5 + level / 2)
    ok = (n1 > 0) & (n2 > 0)
    return (np.where(ok, lift, np.nan), np.where(ok, np.exp(log_rr - z * se), np.nan),
            np.where(ok, np.exp(log_rr + z * se), np.nan))  # fmt: skip


class NoteThemes(BaseEstimator):
    """Unsupervised note themes (TF-IDF + NMF) with deal outcomes, sentiment and funnel stage per theme."""

    def __init__(self, n_themes: int = 12, min_notes: int = 3, n_examples: int = 3, level: float = 0.9,
                 random_state: int = 0):  # fmt: skip
        self.n_themes = n_themes
        self.min_notes = min_notes
        self.n_examples = n_examples
        self.level = level
        self.random_state = random_state

    def fit(self, notes: pd.DataFrame, stages: pd.DataFrame | None = None) -> NoteThemes:
        """`notes`: one row per note (`NEEDED` columns; `facts.notes`); `stages`: opportunity lifecycle
        rows (opportunity_id, stage, at) to place each note in the funnel (optional)."""
        missing = [c for c in NEEDED if c not in notes.columns]
        if missing:
            raise ValueError(f"notes lack columns: {', '.join(missing)}")
        if len(notes) < max(self.n_themes, self.min_notes):
            raise ValueError(f"{len(notes)} notes are too few for {self.n_themes} themes")
        notes = notes.reset_index(drop=True)
        self.vectorizer_ = TfidfVectorizer(ngram_range=(1, 2), stop_words="english", min_df=self.min_notes,
                                           sublinear_tf=True, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b")  # fmt: skip
        texts = notes["note"].astype(str)
        # learned on the distinct texts: a boilerplate note logged a thousand times is one voice, not a theme
        self.vectorizer_.fit(texts)
        unique = self.vectorizer_.transform(texts.drop_duplicates())
        k = min(self.n_themes, *unique.shape)
        self.nmf_ = NMF(n_components=k, init="nndsvda", random_state=self.random_state, max_iter=400)
        with np.errstate(invalid="ignore"):  # a near-exact fit rounds its residual norm below zero
            self.nmf_.fit(unique)
        w = self.nmf_.transform(self.vectorizer_.transform(texts))
        terms = self.vectorizer_.get_feature_names_out()
        self.terms_ = [[str(terms[i]) for i in np.argsort(-row)[:8]] for row in self.nmf_.components_]
        self.labels_ = _unique([label_of(t) for t in self.terms_])
        theme = np.where(w.max(axis=1) > 0, w.argmax(axis=1), -1)
        at = pd.to_datetime(notes["at"], utc=True)
        closed_at = pd.to_datetime(notes["closed_at"], utc=True)
        frame = pd.DataFrame({
            "opportunity_id": notes["opportunity_id"].to_numpy(), "at": at.to_numpy(), "theme_id": theme,
            "sentiment": sentiment(notes["note"]), "note": notes["note"].to_numpy(),
            "at_close": (closed_at.notna() & (at >= closed_at)).to_numpy(),
            "stage": _stage_at(notes, stages),
        })  # fmt: skip
        self.notes_ = frame[NOTE_COLUMNS].copy()
        self.result_ = self._themes(frame, notes)
        return self

    def transform(self, texts) -> np.ndarray:
        """Theme weights (notes x themes) of new note texts."""
        return self.nmf_.transform(self.vectorizer_.transform(pd.Series(texts, dtype=object).astype(str)))

    def _themes(self, frame: pd.DataFrame, notes: pd.DataFrame) -> pd.DataFrame:
        deals = notes.drop_duplicates("opportunity_id").set_index("opportunity_id")
        closed = deals.index[deals["is_closed"].fillna(False).astype(bool)]
        won = deals["is_won"].fillna(False).astype(bool)
        n_deals_all = len(deals)
        rows = []
        for t, label in enumerate(self.labels_):
            mine = frame[frame.theme_id == t]
            with_t = pd.Index(mine.opportunity_id.unique())
            c_with, c_without = closed.intersection(with_t), closed.difference(with_t)
            a, c = float(won.loc[c_with].sum()), float(won.loc[c_without].sum())
            lift, low, high = lift_interval(a, len(c_with), c, len(c_without), self.level)
            examples = mine.note.drop_duplicates().head(self.n_examples).tolist()
            rows.append({
                "theme": label, "theme_id": t, "top_terms": ", ".join(self.terms_[t]), "n_notes": len(mine),
                "n_deals": len(with_t), "share_deals": len(with_t) / max(n_deals_all, 1),
                "win_rate": a / len(c_with) if len(c_with) else np.nan,
                "win_rate_without": c / len(c_without) if len(c_without) else np.nan,
                "lift": float(lift), "ci_low": float(low), "ci_high": float(high),
                "stage": mine.stage.mode().iloc[0] if mine.stage.notna().any() else None,
                "share_at_close": float(mine.at_close.mean()) if len(mine) else np.nan,
                "sentiment": float(mine.sentiment.mean()) if len(mine) else np.nan,
                "examples": " | ".join(examples),
            })  # fmt: skip
        return pd.DataFrame(rows, columns=THEME_COLUMNS).sort_values(
            "n_notes", ascending=False, ignore_index=True
        )


def _unique(labels: list[str]) -> list[str]:
    """Labels made unique (a second equal label gets ' (2)')."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def _stage_at(notes: pd.DataFrame, stages: pd.DataFrame | None) -> np.ndarray:
    """The last opportunity stage entered at or before each note (None without lifecycle rows)."""
    if stages is None or stages.empty:
        return np.full(len(notes), None, dtype=object)
    left = pd.DataFrame({"opportunity_id": notes["opportunity_id"].astype(str).to_numpy(),
                         "at": pd.to_datetime(notes["at"], utc=True).astype("datetime64[us, UTC]").to_numpy(),
                         "row": np.arange(len(notes))}).sort_values("at")  # fmt: skip
    right = pd.DataFrame({"opportunity_id": stages["opportunity_id"].astype(str).to_numpy(),
                          "at": pd.to_datetime(stages["at"], utc=True).astype("datetime64[us, UTC]").to_numpy(),
                          "stage": stages["stage"].to_numpy()}).sort_values("at")  # fmt: skip
    merged = pd.merge_asof(left, right, on="at", by="opportunity_id", direction="backward")
    out = np.full(len(notes), None, dtype=object)
    out[merged["row"].to_numpy()] = merged["stage"].where(merged["stage"].notna(), None).to_numpy()
    return out
