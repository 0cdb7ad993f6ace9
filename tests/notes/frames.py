"""Small hand-made note frames for the notes models (contract test and unit tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

TEXTS = ("Pricing: asked for a discount", "Competitor in the deal, rival vendor", "Follow-up: sent recap",
         "Champion is pushing internally. Great conversation.", "Security review pending")  # fmt: skip


def note_frame(deals: int = 12, seed: int = 0) -> pd.DataFrame:
    """`deals` closed deals (alternately won and lost) with five notes each, a day apart, then a close note."""
    rng = np.random.default_rng(seed)
    rows = []
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    for d in range(deals):
        created = t0 + pd.Timedelta(days=3 * d)
        closed = created + pd.Timedelta(days=30)
        for k, text in enumerate(rng.permutation(TEXTS)):
            rows.append(
                (f"N{d}-{k}", f"OP{d}", created + pd.Timedelta(days=2 * k + 1), str(text), closed, d % 2 == 0)
            )
        rows.append(
            (
                f"N{d}-c",
                f"OP{d}",
                closed,
                "Closed won: contract signed" if d % 2 == 0 else "Closed lost",
                closed,
                d % 2 == 0,
            )
        )
    frame = pd.DataFrame(rows, columns=["activity_id", "opportunity_id", "at", "note", "closed_at", "is_won"])
    frame["is_closed"] = True
    frame["created_at"] = frame["closed_at"] - pd.Timedelta(days=30)
    frame["owner_rep_id"] = np.where(frame["opportunity_id"].str[-1].astype(int) % 3 == 0, "AE01", "AE02")
    frame["amount"] = 1000.0
    frame["region"] = "NA"
    return frame
