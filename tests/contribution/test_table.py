"""The contribution table: documented columns and units, reconciliation, assumptions from the definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairshare.contribution.reconcile import RECONCILIATION_COLUMNS, reconciliation
from fairshare.contribution.table import CONTRIBUTION_COLUMNS, contribution_table

QUICK = {"n_folds": 3, "n_estimators": 150, "learning_rate": 0.06}


def _accounts(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "account_id": [f"A{i}" for i in range(n)], "industry": rng.choice(["a", "b"], n),
        "region": rng.choice(["NA", "EMEA"], n), "log_employees": rng.normal(5, 1, n),
        "log_annual_revenue": rng.normal(16, 1, n), "account_age_days": rng.uniform(30, 900, n),
        "touches__search": rng.poisson(3, n), "touches__email": rng.poisson(5, n), "sdr_prospecting": rng.poisson(1, n),
    })  # fmt: skip
    frame["touches_paid"] = frame["touches__search"] + frame["touches__email"]
    frame["won_revenue"] = (
        400.0 * frame["touches__search"] + 900 * frame["sdr_prospecting"] + rng.normal(0, 800, n)
    )
    frame.attrs["paid_channels"] = ["email", "search"]
    return frame


def test_contribution_table_has_the_documented_columns_and_units():
    accounts = _accounts(1500, seed=7)
    table = contribution_table(accounts, None, settings=QUICK)
    assert list(table.columns) == CONTRIBUTION_COLUMNS
    rows = table.set_index(["unit", "key"])
    assert {
        ("marketing", "all"),
        ("channel", "search"),
        ("channel", "email"),
        ("sdr", "all"),
        ("ae", "all"),
    } <= set(rows.index)
    search = rows.loc[("channel", "search")]
    true_search = 400.0 * accounts["touches__search"].sum()
    assert search.ci_low <= true_search <= search.ci_high
    sdr = rows.loc[("sdr", "all")]
    assert sdr.ci_low <= 900 * accounts["sdr_prospecting"].sum() <= sdr.ci_high
    assert (table["level"] == 0.9).all() and (table["ci_low"] <= table["ci_high"]).all()
    assert table["assumptions"].str.len().gt(0).all()


def test_reconciliation_puts_attributed_and_sourced_next_to_incremental():
    table = pd.DataFrame({
        "unit": ["marketing", "channel", "channel", "sdr", "ae", "speed_to_lead"],
        "key": ["all", "search", "email", "all", "all", "sla_24h"], "estimate": [100.0, 60, 40, 50, 80, 5],
        "ci_low": [50.0, 20, 0, 20, 60, 1], "ci_high": [150.0, 90, 80, 90, 100, 9],
    })  # fmt: skip
    attribution = pd.DataFrame({"model": ["linear"] * 4, "by": ["channel", "channel", "team", "team"],
                                "key": ["search", "email", "SDR", "marketing"], "revenue": [120.0, 80, 70, 190],
                                "share": [0.4, 0.3, 0.2, 0.5]})  # fmt: skip
    sourced = pd.DataFrame(
        {"team": ["marketing", "sdr"], "sourced_revenue": [300.0, 90], "influenced_revenue": [400.0, 95]}
    )
    out = reconciliation(table, {"attribution": attribution, "attribution_sourced": sourced})
    assert list(out.columns) == RECONCILIATION_COLUMNS
    m = out.set_index(["unit", "key"])
    assert m.loc[("marketing", "all"), "attributed"] == 190  # the team split (sales touches share credit)
    assert m.loc[("marketing", "all"), "sourced"] == 300
    assert m.loc[("channel", "search"), "incremental_to_attributed"] == pytest.approx(0.5)
    assert m.loc[("sdr", "all"), "attributed"] == 70 and m.loc[("sdr", "all"), "influenced"] == 95
    assert "speed_to_lead" not in out["unit"].to_numpy()
    channels_only = reconciliation(table, {"attribution": attribution.query("by == 'channel'")})
    assert (
        channels_only.set_index(["unit", "key"]).loc[("marketing", "all"), "attributed"] == 200
    )  # sum of channels
    bare = reconciliation(table, {})
    assert len(bare) == 5 and bare["attributed"].isna().all()


def test_assumptions_come_from_the_definitions_and_are_printed():
    from fairshare.config import ContributionSettings

    accounts = _accounts(600, seed=9)
    won = accounts["won_revenue"].clip(lower=0)
    accounts["won_revenue"] = won
    default = contribution_table(accounts, None, settings=QUICK).set_index("unit")
    custom = ContributionSettings(ae_baseline_win_factor=0.2, ae_baseline_amount_factor=0.25, level=0.8)
    table = contribution_table(accounts, None, settings=QUICK, assumptions=custom).set_index("unit")
    assert default.loc["ae", "estimate"] == pytest.approx((1 - 0.3 * 0.5) * won.sum())
    # an assumption, never an estimate: its interval is the plausible range of the retained self-serve share
    assert default.loc["ae", "method"] == "assumption" and default.loc["ae", "identified"] is False
    assert default.loc["ae", "ci_low"] == pytest.approx((1 - 0.3) * won.sum())
    assert default.loc["ae", "ci_high"] == pytest.approx((1 - 0.05) * won.sum())
    assert table.loc["ae", "estimate"] == pytest.approx((1 - 0.2 * 0.25) * won.sum())
    assert "ae_baseline_win_factor = 0.2" in table.loc["ae", "assumptions"]
    assert "20% of the win rate and 25% of the deal size" in table.loc["ae", "assumptions"]
    assert (table["level"] == 0.8).all()
    assert (
        contribution_table(accounts, None, settings=QUICK, assumptions=custom, level=0.95)["level"] == 0.95
    ).all()


def test_sdr_total_takes_the_configured_share_of_inbound_contacts():
    from fairshare.contribution.table import _sdr_total

    outbound = {"estimate": 100.0, "ci_low": 50.0, "ci_high": 150.0, "n_exposed": 10, "assumptions": "a",
                "overlap_warning": "", "sensitivity": "s"}  # fmt: skip
    inbound = dict(outbound, estimate=40.0, ci_low=20.0, ci_high=60.0)
    assert _sdr_total(outbound, inbound, 0.5)["estimate"] == 120.0
    row = _sdr_total(outbound, inbound, 0.25)
    assert row["estimate"] == 110.0 and (row["ci_low"], row["ci_high"]) == (50.0, 210.0)
    assert "sdr_inbound_share = 0.25" in row["assumptions"]


def test_lead_rows_say_why_when_no_queued_lead_has_won_anything():
    from fairshare.contribution.table import _lead_rows

    rng = np.random.default_rng(3)
    n = 200
    leads = pd.DataFrame({
        "lead_id": [f"L{i}" for i in range(n)], "account_id": [f"A{i}" for i in range(n)], "queued": True,
        "contacted": rng.random(n) < 0.7, "won_revenue": 0.0, "hours_to_first_contact": rng.exponential(30, n),
        "industry": rng.choice(["software", "retail"], n), "log_employees": rng.normal(5, 1, n),
    })  # fmt: skip
    rows, models = _lead_rows(leads, {"level": 0.9, "random_state": 0, **QUICK}, 24.0)
    assert [(r["unit"], r["method"]) for r in rows] == [
        ("sdr_contact", "omitted"),
        ("speed_to_lead", "omitted"),
    ]
    assert all("no queued lead has won revenue" in r["assumptions"] for r in rows) and models == {}


def test_a_queue_that_contacts_nearly_every_lead_says_so_instead_of_dropping_the_inbound_row():
    # grid world arrive40-plain (800 accounts, seed 100): only 5 of 372 queued leads were never contacted, the
    # sdr_contact row vanished without a word and the SDR team row became the outbound row alone
    from fairshare.contribution.table import _lead_rows

    rng = np.random.default_rng(4)
    n = 120
    contacted = np.r_[np.zeros(5, bool), np.ones(n - 5, bool)]
    leads = pd.DataFrame({
        "lead_id": [f"L{i}" for i in range(n)], "account_id": [f"A{i}" for i in range(n)], "queued": True,
        "contacted": contacted, "won_revenue": np.where(rng.random(n) < 0.2, 10_000.0, 0.0),
        "hours_to_first_contact": np.where(contacted, rng.exponential(30, n), np.nan),
        "industry": rng.choice(["software", "retail"], n), "log_employees": rng.normal(5, 1, n),
    })  # fmt: skip
    rows, _ = _lead_rows(leads, {"level": 0.9, "random_state": 0, **QUICK}, 24.0)
    contact = next(r for r in rows if r["unit"] == "sdr_contact")
    assert contact["method"] == "omitted"
    assert "only 5 of 120 queued leads were never contacted" in contact["assumptions"]


def test_sdr_total_bounds_an_inbound_part_it_cannot_estimate():
    # without a contact estimate the inbound contacts still count: 0 .. the won revenue of the queued leads SDRs
    # contacted (300), so the team runs from the outbound low (50) to the outbound high plus 300 (450), no number
    from fairshare.contribution.table import _sdr_total

    outbound = {"estimate": 100.0, "ci_low": 50.0, "ci_high": 150.0, "n_exposed": 10, "assumptions": "a",
                "overlap_warning": "", "sensitivity": "s"}  # fmt: skip
    row = _sdr_total(outbound, None, 0.5, inbound_won=300.0)
    assert np.isnan(row["estimate"]) and (row["ci_low"], row["ci_high"]) == (50.0, 450.0)
    assert "bounded from 0 to the won revenue of the queued leads SDRs contacted (300)" in row["assumptions"]
    assert _sdr_total(outbound, None, 0.5)["ci_high"] == 150.0  # no queued leads: nothing to add


def test_inbound_won_counts_queued_leads_an_sdr_contacted():
    from fairshare.contribution.table import inbound_won

    leads = pd.DataFrame({
        "queued": [True, True, True, False], "contacted": [True, True, False, True],
        "sdr_contacted": [True, False, False, True], "won_revenue": [100.0, 20.0, 7.0, 1000.0],
    })  # fmt: skip
    assert inbound_won(leads) == 100.0  # queued and contacted by an SDR
    assert inbound_won(leads.drop(columns="sdr_contacted")) == 120.0  # no SDR column: any contact
    assert inbound_won(None) is None
