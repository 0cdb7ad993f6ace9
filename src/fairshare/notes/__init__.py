"""Activity notes: themes and objections (unsupervised), deal signals, and rep factors beyond closing.

`results(ws, upstream)` is the run's area: `note_themes`, `note_theme_breakdown` (by segment, rep,
stage, outcome), `deal_sentiment`, `note_signals` (cross-validated AUC with and without notes) and
`rep_factors`. Examples are blanked when `[notes] examples = false`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from fairshare.errors import AreaMissing
from fairshare.notes.factors import FACTOR_COLUMNS, MOOD_NOTE, RepFactors
from fairshare.notes.inputs import factor_inputs, note_inputs
from fairshare.notes.signals import SIGNAL_COLUMNS, DealSignals, note_features, usable_notes
from fairshare.notes.themes import THEME_COLUMNS, NoteThemes, sentiment

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

__all__ = [
    "FACTOR_COLUMNS", "MOOD_NOTE", "SIGNAL_COLUMNS", "THEME_COLUMNS", "DealSignals", "NoteThemes", "RepFactors",
    "evaluate", "note_features", "results", "sentiment", "themes_of", "usable_notes",
]  # fmt: skip
BREAKDOWN_COLUMNS = ["by", "group", "theme", "n_notes", "n_deals", "share_deals", "win_rate"]
SENTIMENT_COLUMNS = ["opportunity_id", "n_notes", "sentiment_mean", "sentiment_first", "sentiment_last",
                     "sentiment_trend", "is_closed", "is_won"]  # fmt: skip


def themes_of(ws: Workspace, random_state: int = 0) -> tuple[NoteThemes, dict]:
    """The fitted theme model and its inputs (notes, stages) on `ws`."""
    s = ws.definitions.notes
    inputs = note_inputs(ws)
    if len(inputs["notes"]) < max(s.themes, s.min_notes):
        raise AreaMissing(
            f"{len(inputs['notes'])} activity notes on opportunities: too few for {s.themes} themes"
        )
    model = NoteThemes(
        n_themes=s.themes, min_notes=s.min_notes, n_examples=s.n_examples, random_state=random_state
    )
    try:
        model.fit(inputs["notes"], inputs["stages"])
    except ValueError as e:  # e.g. no phrase in min_notes notes: nothing to find themes in
        raise AreaMissing(f"no note themes: {e}") from None
    return model, inputs


def tagged_notes(model: NoteThemes, notes: pd.DataFrame) -> pd.DataFrame:
    """`model.notes_` with each note's deal close and owner (same row order as `notes`)."""
    out = model.notes_.copy()
    for col in ("closed_at", "is_closed", "is_won", "size_band", "owner_rep_id", "rep_id"):
        out[col] = notes[col].to_numpy()
    return out


def evaluate(ws: Workspace, as_of_days: float | None = None, random_state: int = 0) -> pd.DataFrame:
    """`note_signals`: 5-fold CV AUC of "won" with and without note features, deals read at `as_of_days`."""
    s = ws.definitions.notes
    model, inputs = themes_of(ws, random_state)
    signals = DealSignals(as_of_days=s.as_of_days if as_of_days is None else as_of_days,
                          positive=s.positive_sentiment, random_state=random_state)  # fmt: skip
    signals.fit(inputs["deals"], tagged_notes(model, inputs["notes"]), inputs["activities"], inputs["stages"],
                len(model.labels_))  # fmt: skip
    return signals.result_


def breakdown(model: NoteThemes, tagged: pd.DataFrame) -> pd.DataFrame:
    """Themes by segment (size band), rep, stage and outcome: notes, deals, share of the group's deals, win rate."""
    t = tagged.copy()
    t["outcome"] = (
        t["is_won"].map({True: "won", False: "lost"}).where(t["is_closed"].fillna(False).astype(bool), "open")
    )
    t["segment"], t["rep"] = t["size_band"], t["owner_rep_id"]
    label = dict(enumerate(model.labels_))
    rows = []
    for by in ("segment", "rep", "stage", "outcome"):
        sub = t[t[by].notna()]
        deals_in = sub.groupby(by)["opportunity_id"].nunique()
        for (group, theme), g in sub[sub.theme_id >= 0].groupby([by, "theme_id"]):
            d = g.drop_duplicates("opportunity_id")
            closed = d[d["is_closed"].fillna(False).astype(bool)]
            rows.append({"by": by, "group": str(group), "theme": label[int(theme)], "n_notes": len(g),
                         "n_deals": len(d), "share_deals": len(d) / deals_in[group],
                         "win_rate": float(closed["is_won"].astype(bool).mean()) if len(closed) else float("nan")})  # fmt: skip
    return pd.DataFrame(rows, columns=BREAKDOWN_COLUMNS)


def deal_sentiment(tagged: pd.DataFrame) -> pd.DataFrame:
    """Per deal: note sentiment over time (mean, first, last, last − first), notes at the close left out."""
    t = tagged[~(pd.to_datetime(tagged["at"], utc=True) >= pd.to_datetime(tagged["closed_at"], utc=True))]
    t = t.sort_values("at")
    g = t.groupby("opportunity_id")
    out = pd.DataFrame({"n_notes": g.size(), "sentiment_mean": g["sentiment"].mean(),
                        "sentiment_first": g["sentiment"].first(), "sentiment_last": g["sentiment"].last(),
                        "is_closed": g["is_closed"].first(), "is_won": g["is_won"].first()})  # fmt: skip
    out["sentiment_trend"] = out["sentiment_last"] - out["sentiment_first"]
    return out.reset_index()[SENTIMENT_COLUMNS]


def results(ws: Workspace, upstream: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The run's notes area (see the module docstring)."""
    s = ws.definitions.notes
    model, inputs = themes_of(ws)
    themes = model.result_.copy()
    if not s.examples:
        themes["examples"] = ""
    tagged = tagged_notes(model, inputs["notes"])
    out = {"note_themes": themes, "note_theme_breakdown": breakdown(model, tagged),
           "deal_sentiment": deal_sentiment(tagged)}  # fmt: skip
    try:
        signals = DealSignals(as_of_days=s.as_of_days, positive=s.positive_sentiment)
        signals.fit(inputs["deals"], tagged, inputs["activities"], inputs["stages"], len(model.labels_))
        out["note_signals"] = signals.result_
    except ValueError:
        out["note_signals"] = pd.DataFrame(columns=SIGNAL_COLUMNS)
    units = factor_inputs(ws, inputs, model, tagged, upstream.get("leads"))
    factors = RepFactors(follow_up_days=s.follow_up_days, cadence_steps=s.cadence_steps)
    out["rep_factors"] = factors.fit(**units, closing=upstream.get("reps")).result_
    return out
