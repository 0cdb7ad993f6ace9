"""Scorecard KPIs read from the run's model results: incremental revenue by team, marketing ROI
(incremental and attributed) and the bookings forecast. Each row names the upstream table it reads;
a missing table gives NaN and a note, never an error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairshare.contribution.triangulate import status as contribution_status
from fairshare.economics import MARKETING_PROGRAM, attribution_model

TEAMS = ("marketing", "sdr", "ae")


def upstream_rows(
    upstream: dict[str, pd.DataFrame],
    cur: str,
    marketing_cost: float,
    level: float,
    requested_model: str | None,
) -> list[dict]:
    """Incremental revenue by team and attributed / incremental marketing ROI over the whole data
    (`marketing_cost`: media spend + sales time on marketing-sourced leads; NaN when unknown)."""
    contribution = upstream.get("contribution")
    attribution = upstream.get("attribution")
    rows = []
    for team in TEAMS:
        row = {"kpi": f"incremental_revenue.{team}", "label": f"Incremental revenue: {team}", "unit": cur,
               "period": "all", "previous_value": np.nan, "value": np.nan, "ci_low": np.nan, "ci_high": np.nan,
               "definition": f"won revenue that would be lost without {team} work (counterfactual estimate, "
                             f"{level:.0%} interval), whole data",
               "source": f"upstream result table `contribution` where unit = '{team}' and key = 'all'",
               "note": ""}  # fmt: skip
        match = None
        if contribution is not None and {"unit", "key", "estimate"} <= set(contribution.columns):
            hit = contribution[(contribution["unit"].astype(str) == team)
                               & (contribution["key"].astype(str) == "all")]  # fmt: skip
            match = hit.iloc[0] if len(hit) else None
        read = contribution_status(match.to_dict()) if match is not None else ""
        if match is not None and isinstance(match.get("period"), str) and match.get("period"):
            row["period"] = match[
                "period"
            ]  # the contribution's own period (all history), never the quarter's
        if match is None:
            row["note"] = "no contribution estimate in this run"
        elif read == "omitted":
            row["note"] = f"not estimated: {match.get('assumptions', '')}"
        else:
            row.update(value=float(match["estimate"]), ci_low=float(match.get("ci_low", np.nan)),
                       ci_high=float(match.get("ci_high", np.nan)))  # fmt: skip
            if read == "not identified":
                row["note"] = (
                    f"not identified from this data (logical bounds shown); {match.get('proposal', '')}"
                )
            elif read == "assumption":
                row["note"] = f"assumption, not an estimate: {match.get('assumptions', '')}"
        rows.append(row)
    inc = rows[0]
    roi_inc = {"kpi": "marketing_roi.incremental", "label": "Marketing ROI (incremental)", "unit": "ratio",
               "period": inc["period"], "previous_value": np.nan, "value": np.nan, "ci_low": np.nan, "ci_high": np.nan,
               "definition": "(incremental revenue of marketing - marketing cost) / marketing cost, whole data; "
                             "marketing cost = media spend + sales time on marketing-sourced leads",
               "source": inc["source"], "note": inc["note"]}  # fmt: skip
    if marketing_cost > 0 and pd.notna(inc["value"]):
        roi_inc.update(value=(inc["value"] - marketing_cost) / marketing_cost,
                       ci_low=(inc["ci_low"] - marketing_cost) / marketing_cost,
                       ci_high=(inc["ci_high"] - marketing_cost) / marketing_cost)  # fmt: skip
    rows.append(roi_inc)
    roi_att = {"kpi": "marketing_roi.attributed", "label": "Marketing ROI (attributed)", "unit": "ratio",
               "period": "all", "previous_value": np.nan, "value": np.nan, "ci_low": np.nan, "ci_high": np.nan,
               "definition": "(revenue credited to marketing by the attribution model - marketing cost) / "
                             "marketing cost, whole data",
               "source": "upstream result table `attribution` where by = 'team' and key = 'marketing'",
               "note": ""}  # fmt: skip
    if attribution is None or not {"model", "key", "revenue"} <= set(attribution.columns):
        roi_att["note"] = "no attribution results in this run"
    else:
        model = attribution_model(attribution, requested_model)
        hit = attribution[(attribution["model"].astype(str) == model)
                          & (attribution["key"].astype(str) == MARKETING_PROGRAM)]  # fmt: skip
        if "by" in hit.columns:
            hit = hit[hit["by"].astype(str) == "team"]
        roi_att["source"] += f" and model = '{model}'"
        if len(hit) and marketing_cost > 0:
            revenue = float(hit.iloc[0]["revenue"])
            roi_att["value"] = (revenue - marketing_cost) / marketing_cost
        else:
            roi_att["note"] = f"no {model} credit for marketing"
    rows.append(roi_att)
    return rows


def forecast_row(upstream: dict[str, pd.DataFrame], cur: str) -> dict:
    """This period's bookings forecast (P50, interval P10–P90) from the upstream `forecast` table."""
    row = {"kpi": "forecast_p50", "label": "Bookings forecast (P50)", "unit": cur, "previous_value": np.nan,
           "value": np.nan, "ci_low": np.nan, "ci_high": np.nan,
           "definition": "median of the deal Monte Carlo of the bookings of the period open at the latest event "
                             "(booked to date + open deals' win probabilities + new pipeline at the run-rate); interval = "
                             "the forecast's ci_low–ci_high (90%), stretched to the backtest's coverage",
           "source": "upstream result table `forecast` where rep_id = 'all'", "note": ""}  # fmt: skip
    forecast = upstream.get("forecast")
    if forecast is None or not {"rep_id", "p10", "p50", "p90"} <= set(forecast.columns):
        row["note"] = "no forecast in this run"
        return row
    hit = forecast[forecast["rep_id"].astype(str) == "all"]
    if hit.empty:
        row["note"] = "no total row in the forecast"
        return row
    f = hit.iloc[0]
    low, high = ("ci_low", "ci_high") if {"ci_low", "ci_high"} <= set(f.index) else ("p10", "p90")
    row.update(value=float(f["p50"]), ci_low=float(f[low]), ci_high=float(f[high]))
    if "period" in f.index and pd.notna(f["period"]):
        row["period"] = str(f["period"])
    if pd.notna(f.get("commit", np.nan)):
        row["note"] = (
            f"reps commit {float(f['commit']):,.0f} (percentile {float(f['commit_percentile']):.2f})"
        )
    return row
