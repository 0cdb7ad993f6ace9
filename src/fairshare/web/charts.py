"""Plotly figures of stored result tables, shared by the dashboard and the report (no computing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

PALETTE = ["#2563eb", "#f97316", "#16a34a", "#dc2626", "#9333ea", "#0891b2", "#ca8a04", "#db2777",
           "#4b5563", "#65a30d", "#7c3aed", "#0d9488"]  # fmt: skip


def figure_json(fig: go.Figure | None) -> str | None:
    """Figure JSON safe to place inside a <script> element."""
    if fig is None:
        return None
    return fig.to_json().replace("</", "<\\/")


def _layout(fig: go.Figure, title: str, height: int = 360, **kw) -> go.Figure:
    settings = {
        "margin": {"l": 60, "r": 20, "t": 48, "b": 60},
        "legend": {"orientation": "h", "y": -0.2},
        **kw,
    }
    fig.update_layout(title={"text": title, "x": 0, "font": {"size": 15}}, height=height, template="plotly_white",
                      colorway=PALETTE, **settings)  # fmt: skip
    return fig


def _first(frame: pd.DataFrame, names: tuple[str, ...], numeric: bool | None = None) -> str | None:
    for n in names:
        if n in frame.columns:
            return n
    for c in frame.columns:
        is_num = pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        if numeric is None or is_num == numeric:
            return c
    return None


def _errors(frame: pd.DataFrame, y: str, low: str = "ci_low", high: str = "ci_high") -> dict | None:
    if low not in frame or high not in frame:
        return None
    return {"type": "data", "symmetric": False, "array": (frame[high] - frame[y]).clip(lower=0).tolist(),
            "arrayminus": (frame[y] - frame[low]).clip(lower=0).tolist(), "thickness": 1.2}  # fmt: skip


def funnel_chart(funnel: pd.DataFrame) -> go.Figure | None:
    """Entities reaching each stage, in funnel order."""
    if funnel.empty:
        return None
    stage = _first(funnel, ("stage", "step"), numeric=False)
    count = _first(funnel, ("count", "entered", "reached", "n", "leads"), numeric=True)
    if stage is None or count is None:
        return None
    fig = go.Figure(go.Funnel(y=funnel[stage].astype(str), x=funnel[count], textinfo="value+percent initial",
                              marker={"color": PALETTE[0]}))  # fmt: skip
    return _layout(fig, "Funnel: how many reach each stage")


def sla_chart(sla: pd.DataFrame) -> go.Figure | None:
    """Compliance per SLA rule (and stage), 0–100%: green where it meets its agreed target (the run's
    `target` column: [sla] <name>_target, else compliance_target), red where it misses, grey without one."""
    if sla.empty:
        return None
    rule = _first(sla, ("sla", "rule", "name"), numeric=False)
    value = _first(sla, ("compliance", "compliance_rate", "share_met", "rate"), numeric=True)
    if rule is None or value is None:
        return None
    labels = sla[rule].astype(str)
    if "stage" in sla and labels.duplicated().any():  # one bar per row: repeated rules never stack
        stage = sla["stage"].astype("string").fillna("")
        labels = labels.where(~labels.duplicated(keep=False), labels + " · " + stage)
    target = sla["target"] if "target" in sla else pd.Series(np.nan, index=sla.index)
    fig = go.Figure(go.Bar(x=labels, y=sla[value].clip(0, 1), error_y=_errors(sla, value),
                           marker={"color": [_against_target(v, t) for v, t in zip(sla[value], target, strict=True)]}))  # fmt: skip
    known = target.dropna()
    if known.nunique() > 1:  # SLAs with their own targets ([sla] <name>_target)
        goal = "green = at or above its target, red = below"
        fig.update_traces(hovertext=[f"target {t:.0%}" if pd.notna(t) else "no target" for t in target])
    elif len(known):
        goal = f"green = at or above the {known.iloc[0]:.0%} target, red = below"
    else:
        goal = "no target stored"
    return _layout(fig, f"SLA compliance ({value}; {goal})",
                   yaxis={"tickformat": ".0%", "range": [0, 1.05]}, barmode="group")  # fmt: skip


def _against_target(share: float, target: float) -> str:
    """Green when a compliance share meets its agreed target, red when it misses, grey when either is unknown."""
    if share is None or target is None or pd.isna(share) or pd.isna(target):
        return PALETTE[8]
    return PALETTE[2] if share >= target else PALETTE[3]


def attribution_chart(attribution: pd.DataFrame, by: str | None = None) -> go.Figure | None:
    """Share of credit per key, one bar group per key, one bar per model, with intervals."""
    if attribution.empty or "share" not in attribution:
        return None
    frame = attribution
    if by is not None and "by" in frame:
        frame = frame[frame["by"] == by]
    if frame.empty:
        return None
    fig = go.Figure()
    for model, rows in frame.groupby("model", sort=False):
        fig.add_bar(
            name=str(model), x=rows["key"].astype(str), y=rows["share"], error_y=_errors(rows, "share")
        )
    title = "Attribution: share of credit by model" + (f" (by {by})" if by else "")
    return _layout(fig, title, height=420, barmode="group", yaxis={"tickformat": ".0%"})


def contribution_chart(contribution: pd.DataFrame, currency: str = "") -> go.Figure | None:
    """Incremental revenue per unit (marketing, channel, SDR, AE), with intervals."""
    if contribution.empty or "estimate" not in contribution:
        return None
    frame = contribution.iloc[::-1]
    labels = (
        (frame["unit"].astype(str) + ": " + frame["key"].astype(str)) if "unit" in frame else frame["key"]
    )
    if "status" in frame:  # "not identified" and "assumption" stay visible next to the bar (or its absence)
        labels = labels + frame["status"].map(
            {"not identified": " (not identified)", "assumption": " (assumption)"}
        ).fillna("")
    fig = go.Figure(go.Bar(x=frame["estimate"], y=labels, orientation="h", marker={"color": PALETTE[1]},
                           error_x=_errors(frame, "estimate")))  # fmt: skip
    return _layout(fig, f"Incremental revenue ({currency}) with 90% intervals",
                   height=max(300, 60 + 28 * len(frame)), margin={"l": 180, "r": 20, "t": 48, "b": 40})  # fmt: skip


def lead_value_chart(leads: pd.DataFrame, currency: str = "") -> go.Figure | None:
    """Distribution of lead dollar value."""
    if leads.empty or "value" not in leads:
        return None
    fig = go.Figure(go.Histogram(x=leads["value"], nbinsx=40, marker={"color": PALETTE[0]}))
    return _layout(fig, f"Lead value distribution ({currency})", xaxis={"title": "value"},
                   yaxis={"title": "leads"})  # fmt: skip


def reps_chart(reps: pd.DataFrame) -> go.Figure | None:
    """Closing ability net of lead quality per rep, with intervals."""
    if reps.empty or "ability" not in reps:
        return None
    frame = reps.sort_values("ability")
    fig = go.Figure(go.Scatter(x=frame["ability"], y=frame["rep_id"].astype(str), mode="markers",
                               error_x=_errors(frame, "ability"), marker={"color": PALETTE[4], "size": 8},
                               text=frame.get("team")))  # fmt: skip
    return _layout(fig, "Rep closing ability (net of lead quality), 90% intervals",
                   height=max(300, 60 + 18 * len(frame)), margin={"l": 100, "r": 20, "t": 48, "b": 40})  # fmt: skip


def note_themes_chart(themes: pd.DataFrame) -> go.Figure | None:
    """Lift of each note theme (win rate of deals with it / without it), with intervals; log scale."""
    if themes.empty or "lift" not in themes:
        return None
    frame = themes[themes["lift"].astype(float).between(1e-9, 1e9)].sort_values("lift")  # finite, above 0
    if frame.empty:
        return None
    fig = go.Figure(go.Scatter(x=frame["lift"], y=frame["theme"].astype(str), mode="markers",
                               error_x=_errors(frame, "lift"), marker={"color": PALETTE[2], "size": 8},
                               text=frame["n_deals"]))  # fmt: skip
    fig.add_vline(x=1.0, line_dash="dot")
    fig.update_xaxes(type="log")
    return _layout(fig, "Note themes: win-rate lift of deals with the theme (90% intervals)",
                   height=max(300, 60 + 22 * len(frame)), margin={"l": 320, "r": 20, "t": 48, "b": 40})  # fmt: skip


def forecast_chart(forecast: pd.DataFrame, currency: str = "") -> go.Figure | None:
    """Bookings this period per rep: P10–P90 range, P50, and the rep's commit."""
    if forecast.empty or "p50" not in forecast:
        return None
    frame = forecast.iloc[::-1]
    labels = frame["rep_id"].astype(str)
    fig = go.Figure(go.Scatter(x=frame["p50"], y=labels, mode="markers", name="P50 (P10–P90)",
                               marker={"color": PALETTE[0], "size": 9},
                               error_x={"type": "data", "symmetric": False, "array": frame["p90"] - frame["p50"],
                                        "arrayminus": frame["p50"] - frame["p10"]}))  # fmt: skip
    if "commit" in frame and frame["commit"].notna().any():
        fig.add_trace(go.Scatter(x=frame["commit"], y=labels, mode="markers", name="commit",
                                 marker={"color": PALETTE[1], "symbol": "diamond", "size": 9}))  # fmt: skip
    return _layout(fig, f"Bookings forecast this period ({currency}): P50 with P10–P90, and commits",
                   height=max(300, 60 + 22 * len(frame)), margin={"l": 100, "r": 20, "t": 48, "b": 40})  # fmt: skip


def backtest_chart(backtest: pd.DataFrame, currency: str = "") -> go.Figure | None:
    """Past periods as forecast then: P10–P90 band and P50 at each as-of date, the actual bookings and the
    reps' commit, so a reader sees how often the range held the actual and whether the P50 beat the commit."""
    if backtest.empty or not {"as_of", "p10", "p50", "p90", "actual"} <= set(backtest.columns):
        return None
    frame = backtest.sort_values("as_of")
    x = pd.to_datetime(frame["as_of"])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=frame["p50"], mode="markers", name="forecast P50 (P10–P90)",
                             marker={"color": PALETTE[0], "size": 8},
                             error_y={"type": "data", "symmetric": False, "array": frame["p90"] - frame["p50"],
                                      "arrayminus": frame["p50"] - frame["p10"]}))  # fmt: skip
    if "commit" in frame and frame["commit"].notna().any():
        fig.add_trace(go.Scatter(x=x, y=frame["commit"], mode="markers", name="reps' commit",
                                 marker={"color": PALETTE[1], "symbol": "diamond", "size": 8}))  # fmt: skip
    fig.add_trace(go.Scatter(x=x, y=frame["actual"], mode="markers", name="actual bookings of the period",
                             marker={"color": PALETTE[2], "symbol": "x", "size": 9},
                             text=frame.get("period")))  # fmt: skip
    return _layout(fig, f"Backtest: each past period forecast N days in ({currency}) vs what was booked",
                   xaxis={"title": "as of"})  # fmt: skip


def whatif_chart(whatif: pd.DataFrame, currency: str = "") -> go.Figure | None:
    """Bookings per period under today's budget and under each change (P50 with P10–P90)."""
    if whatif.empty or not {"period", "change", "p50", "base_p50"} <= set(whatif.columns):
        return None
    fig = go.Figure()
    base = whatif.drop_duplicates("period")
    fig.add_bar(name="today's budget", x=base["period"], y=base["base_p50"],
                error_y=_errors(base, "base_p50", "base_p10", "base_p90"))  # fmt: skip
    for change, rows in whatif.groupby("change", sort=False):
        fig.add_bar(
            name=str(change), x=rows["period"], y=rows["p50"], error_y=_errors(rows, "p50", "p10", "p90")
        )
    return _layout(fig, f"Spend what-if: bookings per period ({currency}), P50 with P10–P90", barmode="group")


def _dimension(frame: pd.DataFrame, prefer: str = "channel") -> tuple[pd.DataFrame, str]:
    """Rows of one dimension (channel first) of a table with a `dimension` column."""
    if "dimension" not in frame or frame.empty:
        return frame, ""
    dims = frame["dimension"].dropna().unique().tolist()
    dim = prefer if prefer in dims else (dims[0] if dims else "")
    return frame[frame["dimension"] == dim], dim


def economics_chart(economics: pd.DataFrame) -> go.Figure | None:
    """Cost (media spend + sales time) and revenue per channel."""
    frame, dim = _dimension(economics)
    key = _first(frame, ("key", "channel", "source", "campaign_id"), numeric=False)
    if frame.empty or key is None:
        return None
    frame = frame.head(40)
    fig = go.Figure()
    stacks = [c for c in ("spend", "sales_cost") if c in frame]
    for col in stacks:
        fig.add_bar(name=col.replace("_", " "), x=frame[key].astype(str), y=frame[col], offsetgroup="cost")
    for col in ("revenue",) if stacks else ("cost", "revenue"):
        if col in frame:
            fig.add_bar(name=col, x=frame[key].astype(str), y=frame[col], offsetgroup=col)
    if not fig.data:
        return None
    title = f"Cost (spend + sales time) and revenue by {dim or key}"
    return _layout(fig, title, barmode="relative" if stacks else "group")


def roi_chart(economics: pd.DataFrame) -> go.Figure | None:
    """ROI three ways side by side: attributed, sourced, incremental (with interval)."""
    frame, dim = _dimension(economics)
    ways = [c for c in ("roi_attributed", "roi_sourced", "roi_incremental") if c in frame]
    if frame.empty or not ways or "key" not in frame:
        return None
    fig = go.Figure()
    for col in ways:
        err = _errors(frame, col, f"{col}_ci_low", f"{col}_ci_high")
        fig.add_bar(name=col.removeprefix("roi_"), x=frame["key"].astype(str), y=frame[col], error_y=err)
    return _layout(fig, f"ROI by {dim or 'key'}: attributed, sourced and incremental", barmode="group",
                   yaxis={"tickformat": ".0%"})  # fmt: skip


def prospecting_chart(prospecting: pd.DataFrame) -> go.Figure | None:
    """Revenue per rep-hour by prospecting source, with intervals."""
    if prospecting.empty:
        return None
    key = _first(prospecting, ("program", "source", "prospecting", "key"), numeric=False)
    value = _first(prospecting, ("revenue_per_rep_hour", "revenue_per_hour", "value_per_hour"), numeric=True)
    if key is None or value is None:
        return None
    fig = go.Figure(go.Bar(x=prospecting[key].astype(str), y=prospecting[value], marker={"color": PALETTE[5]},
                           error_y=_errors(prospecting, value)))  # fmt: skip
    return _layout(fig, f"Prospecting: {value.replace('_', ' ')}")


def scorecard_chart(scorecard: pd.DataFrame) -> go.Figure | None:
    """Relative change of each KPI against the previous period (value / previous value - 1), coloured by
    whether the KPI moved the good way (`better`: fewer hours to first contact is green)."""
    if scorecard.empty or not {"value", "previous_value"} <= set(scorecard.columns):
        return None
    frame = scorecard.dropna(subset=["value", "previous_value"])
    frame = frame[frame["previous_value"] != 0]
    if frame.empty:
        return None
    relative = frame["value"] / frame["previous_value"] - 1
    labels = frame["label"] if "label" in frame else frame["kpi"]
    better = frame["better"] if "better" in frame else pd.Series("higher", index=frame.index)
    colors = [_direction_colour(v, b) for v, b in zip(relative, better, strict=True)]
    period = (
        f" ({frame['period'].iloc[0]} vs {frame['previous_period'].iloc[0]})"
        if "previous_period" in frame
        else ""
    )
    fig = go.Figure(go.Bar(x=relative, y=labels.astype(str), orientation="h", marker={"color": colors}))
    return _layout(fig, f"Change vs previous period{period}", height=max(300, 60 + 24 * len(frame)),
                   margin={"l": 280, "r": 20, "t": 48, "b": 40}, xaxis={"tickformat": "+.0%"})  # fmt: skip


def _direction_colour(change: float, better: str) -> str:
    """Green when the KPI moved the good way (its `better` direction), red when the bad way, grey if neutral."""
    if better not in ("higher", "lower") or change == 0:
        return PALETTE[8]
    good = change > 0 if better == "higher" else change < 0
    return PALETTE[2] if good else PALETTE[3]


def validation_chart(validation: pd.DataFrame) -> go.Figure | None:
    """Each check's value relative to its reference (truth, target or baseline): 1 means equal."""
    if validation.empty:
        return None
    frame = validation.dropna(subset=["value", "reference"])
    frame = frame[frame["reference"] != 0]
    if frame.empty:
        return None
    ratio = frame["value"] / frame["reference"]
    labels = (frame["model"].astype(str) + " · " + frame["metric"].astype(str)).tolist()
    passed = frame["passed"].astype("object")
    colors = [PALETTE[8] if pd.isna(p) else (PALETTE[2] if p else PALETTE[3]) for p in passed]
    text = [
        f"value {v:,.4g} vs reference {r:,.4g}"
        for v, r in zip(frame["value"], frame["reference"], strict=True)
    ]
    fig = go.Figure(go.Bar(x=ratio, y=labels, orientation="h", marker={"color": colors}, hovertext=text))
    fig.add_vline(x=1.0, line={"dash": "dot", "color": "#111827"})
    return _layout(fig, "Estimate / reference (green: check passed, red: failed, grey: informative)",
                   height=max(300, 70 + 30 * len(frame)), margin={"l": 300, "r": 20, "t": 48, "b": 40})  # fmt: skip


def queue_chart(queue: pd.DataFrame, currency: str = "") -> go.Figure | None:
    """Per rep: expected value of the open leads that fit today's capacity, and of the rest of the queue."""
    if queue.empty or not {"rep_id", "value", "fits_capacity"} <= set(queue.columns):
        return None
    fits = queue["fits_capacity"].astype(bool)
    per = queue.assign(today=queue["value"].where(fits, 0.0), later=queue["value"].where(~fits, 0.0))
    per = per.groupby("rep_id")[["today", "later"]].sum().reset_index()
    fig = go.Figure([go.Bar(x=per["rep_id"], y=per["today"], name="fits today", marker={"color": PALETTE[0]}),
                     go.Bar(x=per["rep_id"], y=per["later"], name="rest of the queue", marker={"color": "#9ca3af"})])  # fmt: skip
    return _layout(fig, f"Expected value of each rep's open leads ({currency})", barmode="stack")


def as_table(frame: pd.DataFrame, limit: int = 50) -> dict:
    """Columns and formatted cells of the first `limit` rows, for an HTML table."""
    head = frame.head(limit)
    return {"columns": [str(c) for c in head.columns],
            "rows": [[format_cell(v) for v in row] for row in head.itertuples(index=False)],
            "total": len(frame)}  # fmt: skip


def format_cell(value: object) -> str:
    """A table cell for people: blanks for missing, thousands separators, 4 significant digits."""
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) or hasattr(value, "item"):
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value)
        if number.is_integer() and abs(number) < 1e15:
            return f"{int(number):,}"
        return f"{number:,.4g}" if abs(number) < 1000 else f"{number:,.0f}"
    return str(value)
