"""Incremental revenue next to attributed and sourced/influenced revenue, by team and by channel.

Credit rules split the revenue that happened; incrementality asks what would not have happened.
The reconciliation puts both side by side so users see how far each credit rule is from the
counterfactual. Attribution tables are optional: missing ones leave their columns empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RECONCILIATION_COLUMNS = [
    "unit", "key", "incremental", "ci_low", "ci_high", "attribution_model", "attributed", "sourced", "influenced",
    "incremental_to_attributed",
]  # fmt: skip
TEAM_UNITS = {"marketing": "marketing", "sdr": "sdr", "ae": "ae"}


def _attributed(attribution: pd.DataFrame | None) -> pd.DataFrame:
    """Long (unit, key, attribution_model, attributed) from the attribution table (model, by, key, revenue)."""
    cols = ["unit", "key", "attribution_model", "attributed"]
    if (
        attribution is None
        or attribution.empty
        or not {"model", "key", "revenue"} <= set(attribution.columns)
    ):
        return pd.DataFrame(columns=cols)
    a = attribution.copy()
    by = a["by"].astype(str) if "by" in a.columns else pd.Series("channel", index=a.index)
    rows = []
    team = a.loc[by == "team"]
    for model, g in team.groupby("model", sort=True):
        for k, v in g.groupby("key")["revenue"].sum().items():
            unit = TEAM_UNITS.get(str(k).lower())
            if unit:
                rows.append({"unit": unit, "key": "all", "attribution_model": model, "attributed": float(v)})
    channel = a.loc[by == "channel"]
    for model, g in channel.groupby("model", sort=True):
        rows += [{"unit": "channel", "key": str(k), "attribution_model": model, "attributed": float(v)}
                 for k, v in g.groupby("key")["revenue"].sum().items()]  # fmt: skip
        if team.empty:  # no team split: marketing's credit is the sum over its channels
            rows.append({"unit": "marketing", "key": "all", "attribution_model": model,
                         "attributed": float(g["revenue"].sum())})  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def _sourced(sourced: pd.DataFrame | None) -> pd.DataFrame:
    """(unit, key, sourced, influenced) from the sourced/influenced table, whatever its key column is called."""
    cols = ["unit", "key", "sourced", "influenced"]
    if sourced is None or sourced.empty:
        return pd.DataFrame(columns=cols)
    key_col = next((c for c in ("team", "source_team", "key", "channel") if c in sourced.columns), None)
    s_col = _money_column(sourced, "sourced")
    i_col = _money_column(sourced, "influenced")
    if key_col is None or (s_col is None and i_col is None):
        return pd.DataFrame(columns=cols)
    rows = []
    for k, g in sourced.groupby(key_col, sort=True):
        name = str(k).lower()
        unit, key = (TEAM_UNITS[name], "all") if name in TEAM_UNITS else ("channel", str(k))
        rows.append({"unit": unit, "key": key, "sourced": float(g[s_col].sum()) if s_col else np.nan,
                     "influenced": float(g[i_col].sum()) if i_col else np.nan})  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def _money_column(frame: pd.DataFrame, kind: str) -> str | None:
    """`<kind>_revenue` when present, else the first numeric column naming `kind` that is not a count or share."""
    if f"{kind}_revenue" in frame.columns:
        return f"{kind}_revenue"
    return next((c for c in frame.columns if kind in c and pd.api.types.is_numeric_dtype(frame[c])
                 and not any(w in c for w in ("share", "opportunities", "count", "deals"))), None)  # fmt: skip


def reconciliation(
    contribution: pd.DataFrame, upstream: dict[str, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """One row per (unit, key, attribution model): incremental with its interval, attributed, sourced, influenced.

    Units without attribution keep one row with empty attribution columns. `incremental_to_attributed`
    is incremental / attributed (how much of the credited revenue would really be lost without the unit).
    """
    upstream = upstream or {}
    inc = contribution.loc[contribution["unit"].isin(["marketing", "channel", "sdr", "ae"]),
                           ["unit", "key", "estimate", "ci_low", "ci_high"]].rename(columns={"estimate": "incremental"})  # fmt: skip
    attributed = _attributed(upstream.get("attribution"))
    sourced = _sourced(upstream.get("attribution_sourced"))
    out = inc.merge(attributed, on=["unit", "key"], how="left").merge(sourced, on=["unit", "key"], how="left")
    out["incremental_to_attributed"] = out["incremental"] / out["attributed"].where(out["attributed"] != 0)
    for c in ("attributed", "sourced", "influenced", "incremental_to_attributed"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out[RECONCILIATION_COLUMNS].reset_index(drop=True)
