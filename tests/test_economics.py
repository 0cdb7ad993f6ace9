"""Economics: costs reconcile to spend + sales time, sales time follows the lead's campaign, ROI
three ways (upstream tables optional), prospecting revenue per rep-hour with intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairshare import Workspace
from fairshare.economics import ECONOMICS_COLUMNS, PROSPECTING_COLUMNS, VIEWS, Economics, results


def _raw_totals(ws: Workspace) -> tuple[float, float]:
    """Total spend and total sales time cost straight from the canonical tables (plain SQL)."""
    con = ws.con.con
    spend = con.execute("SELECT coalesce(sum(amount), 0) FROM spend").fetchone()[0]
    time_cost = con.execute(
        "SELECT coalesce(sum(coalesce(a.duration_s, 0) / 3600.0 * coalesce(r.hourly_cost, 0)), 0) "
        "FROM activities a LEFT JOIN reps r USING (rep_id)"
    ).fetchone()[0]
    return float(spend), float(time_cost)


def test_tiny_costs_follow_the_lead_campaign(tiny_ws):
    frame = Economics(tiny_ws).table("campaign")
    assert list(frame.columns) == ECONOMICS_COLUMNS
    table = frame.set_index("key")
    # K2 (webinar): spend 800; X1 (600 s by R1 at 55/h) on L1 and X4 (3600 s by R2 at 110/h) on O1 from L1
    assert table.loc["K2", "spend"] == pytest.approx(800)
    assert table.loc["K2", "sales_cost"] == pytest.approx(600 / 3600 * 55 + 110)
    assert table.loc["K2", "revenue"] == 48000 and table.loc["K2", "customers"] == 1
    assert table.loc["K2", "cac"] == pytest.approx(table.loc["K2", "cost"])
    assert table.loc["K1", "spend"] == pytest.approx(2150.5) and table.loc["K1", "revenue"] == 0
    # sales_hours: L1 work = 600 s + 3600 s
    assert table.loc["K2", "sales_hours"] == pytest.approx(4200 / 3600)
    assert table.loc["K2", "revenue_per_rep_hour"] == pytest.approx(48000 / (4200 / 3600))


def test_every_view_reconciles_to_spend_plus_sales_time(tiny_ws, sim_workspace):
    for ws in (tiny_ws, sim_workspace.workspace):
        spend, time_cost = _raw_totals(ws)
        econ = Economics(ws)
        totals = econ.totals()
        assert totals["cost"] == pytest.approx(spend + time_cost, rel=1e-12)
        for by in VIEWS:
            table = econ.table(by)
            assert table["spend"].sum() == pytest.approx(spend, rel=1e-12)
            assert table["sales_cost"].sum() == pytest.approx(time_cost, rel=1e-12)
            assert table["cost"].sum() == pytest.approx(spend + time_cost, rel=1e-12)


def test_source_view_splits_sdr_programs(sim_workspace):
    econ = Economics(sim_workspace.workspace)
    source = econ.table("source").set_index("key")
    assert {"marketing", "cold_call", "partner"} <= set(source.index)
    assert source["spend"].drop("marketing").sum() == 0  # media spend is marketing's
    leads = sim_workspace.truth["events"]["source_team"].value_counts()
    assert source.loc["marketing", "leads"] == leads["marketing"]
    assert source.loc["partner", "leads"] == leads["partner"]


def test_roi_three_ways_with_and_without_upstream(tiny_ws):
    econ = Economics(tiny_ws)
    bare = econ.table("channel").set_index("key")
    assert bare["roi_attributed"].isna().all() and bare["roi_incremental"].isna().all()
    assert bare.loc["webinar", "note"].startswith("no attribution results")
    assert bare.loc["webinar", "roi_sourced"] == pytest.approx(48000 / bare.loc["webinar", "cost"] - 1)
    attribution = pd.DataFrame({
        "model": ["markov", "markov", "linear"], "by": ["channel", "channel", "channel"],
        "key": ["webinar", "paid_search", "webinar"], "revenue": [30000.0, 18000.0, 24000.0],
        "share": [0.6, 0.4, 0.5], "ci_low": np.nan, "ci_high": np.nan,
    })  # fmt: skip
    contribution = pd.DataFrame({
        "unit": ["channel", "marketing"], "key": ["webinar", "all"], "estimate": [20000.0, 40000.0],
        "ci_low": [5000.0, 10000.0], "ci_high": [35000.0, 70000.0],
    })  # fmt: skip
    full = econ.table("channel", {"attribution": attribution, "contribution": contribution}).set_index("key")
    web = full.loc["webinar"]
    assert web["attribution_model"] == "markov"
    assert web["roi_attributed"] == pytest.approx(30000 / web["cost"] - 1)
    assert web["roi_incremental"] == pytest.approx(20000 / web["cost"] - 1)
    assert web["roi_incremental_ci_low"] < web["roi_incremental"] < web["roi_incremental_ci_high"]
    assert full.loc["paid_search", "roi_incremental"] != full.loc["paid_search", "roi_incremental"]  # NaN
    renamed = attribution.replace({"model": {"markov": "markov_1"}})
    assert econ.table("channel", {"attribution": renamed}).set_index("key").loc[
        "webinar", "attribution_model"
    ] == ("markov_1")
    linear = econ.table("channel", {"attribution": attribution}, attribution_model="linear").set_index("key")
    assert linear.loc["webinar", "attributed_revenue"] == 24000
    source = econ.table("source", {"contribution": contribution}).set_index("key")
    assert source.loc["marketing", "incremental_revenue"] == 40000


def test_prospecting_revenue_per_rep_hour(sim_workspace):
    table = Economics(sim_workspace.workspace).prospecting()
    assert list(table.columns) == PROSPECTING_COLUMNS
    rows = table.set_index("program")
    assert {"marketing", "cold_call"} <= set(rows.index)
    ratio = rows["revenue"] / rows["rep_hours"]
    assert np.allclose(rows["revenue_per_rep_hour"], ratio, equal_nan=True)
    ok = rows["revenue"] > 0
    assert (rows.loc[ok, "ci_low"] <= rows.loc[ok, "revenue_per_rep_hour"]).all()
    assert (rows.loc[ok, "revenue_per_rep_hour"] <= rows.loc[ok, "ci_high"]).all()
    # cold calling: every unproductive prospecting call is a unit with hours and no revenue
    cold = rows.loc["cold_call"]
    assert cold["units"] > cold["leads"]
    # total revenue of lead-sourced programs = won revenue of opportunities that have a lead
    of = sim_workspace.workspace.con.con.execute(
        "SELECT sum(amount) FROM opportunities WHERE is_won AND lead_id IS NOT NULL"
    ).fetchone()[0]
    assert rows["revenue"].sum() == pytest.approx(of)


def test_interval_covers_the_ratio_under_resampling():
    """The ratio estimator's delta-method interval: checked by simulation on synthetic units."""
    from fairshare.intervals import ratio_interval

    rng = np.random.default_rng(4)
    true_ratio, hits, trials = 50.0, 0, 300
    for _ in range(trials):
        x = rng.gamma(2.0, 1.5, size=300)
        y = np.where(rng.random(300) < 0.2, true_ratio * x * 5 * rng.lognormal(0, 0.3, 300), 0.0)
        mean_ratio = true_ratio * 5 * 0.2 * np.exp(0.045)
        low, high = ratio_interval(x, y, level=0.9)
        hits += low <= mean_ratio <= high
    assert 0.84 <= hits / trials <= 0.96


def test_results_contract(tiny_ws):
    out = results(tiny_ws, {})
    assert set(out) == {"economics", "prospecting"}
    assert set(out["economics"]["dimension"]) == set(VIEWS)
