"""The scorecard's KPI cards, shared by the dashboard and the report (formatting only, no computing)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from fairshare.web.charts import format_cell

SHARE_UNITS = ("share", "fraction")


def kpi_value(value: Any, unit: str, signed: bool = False) -> str:
    """A KPI number in its unit: shares as percent (changes in points), money and counts with separators."""
    if value is None or pd.isna(value):
        return "–"
    number = float(value)
    if unit in SHARE_UNITS:
        return f"{number * 100:+.1f} pp" if signed else f"{number:.1%}"
    text = format_cell(number)
    if signed and number > 0:
        text = "+" + text
    return f"{text} {unit}" if unit and unit not in ("count", "ratio") else text


def change_tone(change: Any, better: Any) -> str:
    """ "good" when the KPI moved the way its definition calls better (CAC down, bookings up), "bad" the other
    way, "" when it did not move, has no direction (spend) or no change is known."""
    if change is None or better not in ("higher", "lower") or pd.isna(change) or float(change) == 0:
        return ""
    return "good" if (float(change) > 0) == (better == "higher") else "bad"


def kpi_cards(scorecard: pd.DataFrame) -> list[dict[str, str]]:
    """Scorecard rows as cards: label, value in its unit, interval, change vs the previous period, and for
    model results their own period and whether they are "not identified" or an "assumption"."""
    cards = []
    for rec in scorecard.to_dict(orient="records"):
        unit = str(rec.get("unit") or "")
        low, high = rec.get("ci_low"), rec.get("ci_high")
        change = rec.get("change")
        has_interval = low is not None and high is not None and pd.notna(low) and pd.notna(high)
        note, period = str(rec.get("note") or ""), str(rec.get("period") or "")
        value = kpi_value(rec.get("value"), unit)
        flag = ""
        if note.startswith("not identified"):
            value, flag = "not identified", "not identified from this data; interval = logical bounds"
        elif note.startswith("assumption"):
            flag = "assumption, not an estimate"
        cards.append({
            "label": str(rec.get("label") or rec.get("kpi")),
            "value": value,
            "interval": f"{kpi_value(low, unit)} – {kpi_value(high, unit)}" if has_interval else "",
            "change": kpi_value(change, unit, signed=True) if change is not None and pd.notna(change) else "",
            "tone": change_tone(change, rec.get("better")),
            "period": period if period.startswith("all history") else "",  # whole-history numbers name it
            "flag": flag,
        })  # fmt: skip
    return cards
