"""Incremental contribution against the simulator's replayed truth, through the warehouse and `results()`.

Ten small worlds of the default company (600 accounts, seeds 1-10 fixed in advance): the reported rows (SDR
team, SDR outbound from the panel, marketing not identified without a mix model, AE as an assumption) and the
naive strategies' accuracy on this company (marketing, the two largest channels; they are reported, not
identifying). Measured before the triangulation: marketing 0.9, SDR 1.0, paid_search 1.0, paid_social 0.9.
A coverage share from this few seeds is itself uncertain by about ±0.1; benchmarks/contribution_grid.py runs
the grid of companies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairshare.contribution import CONTRIBUTION_COLUMNS, RUN_SETTINGS, results
from fairshare.contribution.capacity import SalesQueue
from fairshare.contribution.exposures import lead_exposures
from fairshare.contribution.reconcile import RECONCILIATION_COLUMNS
from fairshare.contribution.table import _lead_rows, _sales_queue
from fairshare.validation import validation_table

SEEDS = tuple(range(1, 11))
ACCOUNTS = 600
CHANNELS = ("paid_search", "paid_social")  # the two largest channels by true incremental revenue


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> list[dict]:
    from fairshare import Workspace
    from fairshare.simulate import SimulationConfig, simulate_with_truth

    out = []
    for seed in SEEDS:
        cfg = SimulationConfig(accounts=ACCOUNTS)
        scenarios = ("marketing_off", "sdr_off", "sdr_outbound_off", "ae_off", *(f"channel_off:{c}" for c in CHANNELS),
                     f"queue_without:{CHANNELS[0]}")  # fmt: skip
        world = simulate_with_truth(cfg, seed=seed, scenarios=scenarios)
        root = tmp_path_factory.mktemp(f"contribution{seed}")
        world.write(root / "company", format="parquet")
        ws = Workspace.init(root / "ws")
        ws.import_(root / "company")
        tables = results(ws, {})
        leads = lead_exposures(ws)
        ws.close()
        out.append({"seed": seed, "tables": tables, "truth": world.truth, "leads": leads})
    return out


def _scored(worlds: list[dict], strategy: str | None = None) -> pd.DataFrame:
    """Reported rows (or, with `strategy`, that strategy of each row) against the truth of every world."""
    from fairshare.contribution.triangulate import strategies_of

    rows = []
    for w in worlds:
        truth = w["truth"]["incremental"].set_index("unit")["incremental_revenue"]
        for rec in w["tables"]["contribution"].to_dict(orient="records"):
            name = rec["unit"] if rec["key"] in ("all", "accounts") else f"{rec['unit']}:{rec['key']}"
            if strategy is not None:
                found = [x for x in strategies_of(rec["strategies"]) if x["name"] == strategy]
                if not found:
                    continue
                rec = found[0]
            if name in truth:
                t = float(truth[name])
                rows.append({"seed": w["seed"], "unit": name, "truth": t, "estimate": rec["estimate"],
                             "ci_low": rec["ci_low"], "ci_high": rec["ci_high"],
                             "covered": rec["ci_low"] <= t <= rec["ci_high"],
                             "rel_error": abs(rec["estimate"] - t) / abs(t) if rec["estimate"] is not None else np.nan})  # fmt: skip
    return pd.DataFrame(rows)


MARKETING_NAIVE = "sourced+dml_plr_spillover-queue_displacement"
CHANNEL_NAIVE = "dml_plr_spline-queue_displacement"


def test_results_contract(worlds):
    for w in worlds:
        tables = w["tables"]
        assert list(tables["contribution"].columns) == CONTRIBUTION_COLUMNS
        assert list(tables["contribution_reconciliation"].columns) == RECONCILIATION_COLUMNS
        units = set(tables["contribution"]["unit"])
        assert {"marketing", "channel", "sdr", "sdr_outbound", "sdr_contact", "speed_to_lead", "ae"} <= units
        c = tables["contribution"]
        known = c.loc[c["estimate"].notna()]
        assert (known["ci_low"] <= known["estimate"]).all() and (known["estimate"] <= known["ci_high"]).all()
        assert c["sensitivity"].str.len().gt(0).all()
        won = float(w["truth"]["incremental"].set_index("unit").loc["ae", "factual_revenue"])
        assert (c["ci_high"] <= won + 1e-6).all()  # no bound above the won revenue of the period
        assert c["period"].str.startswith("all history 2025-01-01..").all()
        validation = validation_table(tables, w["truth"])
        assert {"contribution:marketing", "contribution:sdr", "contribution:ae"} <= set(validation["model"])


def test_coverage_of_sdr(worlds):
    scored = _scored(worlds).groupby("unit")["covered"].mean()
    assert scored["sdr"] >= 0.8


def test_sdr_outbound_panel_covers_the_truth_in_8_of_10_worlds(worlds):
    # measured: 8 of 10, median estimate / truth 1.12 (the 56-day "entering" design before: 7 of 10 and 0.46)
    s = _scored(worlds).query("unit == 'sdr_outbound'")
    assert len(s) == len(SEEDS) and s["covered"].mean() >= 0.8


def test_sdr_outbound_is_identified_by_the_panel_and_never_wrong_side(worlds):
    # measured over the 10 worlds: see the printed table; the naive dose of activities is reported, not used
    s = _scored(worlds).query("unit == 'sdr_outbound'")
    assert len(s) == len(SEEDS)
    wrong_side = ((s["ci_low"] > 0) & (s["truth"] < 0)) | ((s["ci_high"] < 0) & (s["truth"] > 0))
    assert not wrong_side.any()
    for w in worlds:
        row = w["tables"]["contribution"].query("unit == 'sdr_outbound'").iloc[0]
        assert bool(row["identified"]) and "panel_dml" in row["method"]


def test_marketing_without_a_mix_model_is_not_identified_and_proposes_a_holdout(worlds):
    # the touch-dose / sourced decomposition rests on selection on observables only: reported, never the answer
    for w in worlds:
        row = w["tables"]["contribution"].query("unit == 'marketing'").iloc[0]
        won = float(w["truth"]["incremental"].set_index("unit").loc["marketing", "factual_revenue"])
        assert not bool(row["identified"]) and np.isnan(row["estimate"])
        assert (row["ci_low"], row["ci_high"]) == (0.0, pytest.approx(won))
        assert "randomized holdout" in row["proposal"] and "80% power" in row["proposal"]


def test_ae_row_is_the_stated_baseline_applied_to_bookings_not_an_estimate(worlds):
    # The AE row is an assumption (docs/decisions.md): with the default [contribution] factors it must be
    # exactly (1 - 0.3 * 0.5) x won revenue, and it is never scored against the simulator's truth
    # (the simulator's self-serve factors equal the defaults, so that comparison would be circular).
    for w in worlds:
        ae = w["tables"]["contribution"].query("unit == 'ae'").iloc[0]
        won = float(w["truth"]["incremental"].set_index("unit").loc["ae", "factual_revenue"])
        assert ae["method"] == "assumption" and not bool(ae["identified"])
        assert ae["estimate"] == pytest.approx((1 - 0.3 * 0.5) * won, rel=1e-9)
        validation = validation_table(w["tables"], w["truth"]).set_index("model")
        assert validation.loc["contribution:ae", "check"] == "assumption"
        assert pd.isna(validation.loc["contribution:ae", "passed"])


def test_marketing_estimate_has_the_right_sign_and_order_of_magnitude(worlds):
    # the naive strategy on the default company (where marketing creates the demand it sources)
    s = _scored(worlds, MARKETING_NAIVE).query("unit == 'marketing'")
    assert len(s) == len(SEEDS) and (s["estimate"] > 0).all()
    assert 0.5 <= np.median(s["estimate"] / s["truth"]) <= 2.0


def test_acceptance_marketing_coverage_and_median_relative_error(worlds):
    # the naive strategy, measured: coverage 0.9, median relative error 0.065 (20 seeds x 3,000 accounts: 1.00
    # and 0.142); it holds on this company only, see benchmarks/contribution_grid.py for the grid
    s = _scored(worlds, MARKETING_NAIVE).query("unit == 'marketing'")
    assert s["covered"].mean() >= 0.8
    assert s["rel_error"].median() <= 0.15


def test_channel_rows_are_net_of_queue_displacement(worlds):
    for w in worlds:
        c = w["tables"]["contribution"].query("unit == 'channel'")
        assert c["method"].eq("not_identified").all()  # no mix model: the spline is reported, not identifying
        assert c["strategies"].str.contains(CHANNEL_NAIVE).all()
        assert c["assumptions"].str.contains("displacement").all()
        assert (
            c["assumptions"].str.contains("fifo queue replay chosen").all()
        )  # the simulator's default discipline


def test_acceptance_coverage_of_the_two_largest_channels(worlds, capsys):
    # measured: paid_search 1.0 (mean 0.49 M vs true 0.39 M), paid_social 0.9 (0.28 M vs 0.17 M); with one
    # cross-fitting split instead of three (n_rep) paid_search covered 7 of 10
    table = _scored(worlds, CHANNEL_NAIVE).groupby("unit").agg(
        coverage=("covered", "mean"), median_rel_error=("rel_error", "median"), mean_truth=("truth", "mean"),
        mean_estimate=("estimate", "mean"),
    )  # fmt: skip
    with capsys.disabled():
        print(f"\ncoverage of the {len(SEEDS)} worlds ({ACCOUNTS} accounts):\n{table.round(3)}")
    assert all(table.loc[f"channel:{c}", "coverage"] >= 0.8 for c in CHANNELS)


def _production_queue(leads: pd.DataFrame, **settings) -> tuple[SalesQueue, dict]:
    """The queue and lead models exactly as `fairshare run` builds them (random_state 0)."""
    kw = {"level": 0.9, "random_state": 0, **RUN_SETTINGS, **settings}
    _, models = _lead_rows(leads, kw, 24.0)
    accounts = pd.DataFrame({"account_id": leads["account_id"].unique()})
    return _sales_queue(leads, accounts, models, 0), models


def test_queue_displacement_matches_the_simulators_queue_only_counterfactual(worlds):
    # queue_without:paid_search keeps every lead but never works paid_search's marketing leads, so
    # truth = their own expected revenue - incremental expected revenue = what the other leads gain.
    # The replay is the production one: each newly contacted lead valued at its own contact effect.
    channel, true, replayed, own = CHANNELS[0], [], [], []
    for w in worlds:
        leads = w["leads"]
        removed = leads["queued"] & leads["source_team"].eq("marketing") & leads["source_channel"].eq(channel)
        value = w["truth"]["leads"].set_index("lead_id")["true_expected_value"]
        own.append(float(value.reindex(leads.loc[removed, "lead_id"]).sum()))
        inc = (
            w["truth"]["incremental"]
            .set_index("unit")
            .loc[f"queue_without:{channel}", "incremental_expected_revenue"]
        )
        true.append(own[-1] - float(inc))
        queue, models = _production_queue(leads)
        # each queued lead carries the contact model's own prediction for it (cross-fitted g1 - g0), by lead_id
        fitted = models["contact"].model_.predictions
        queued = leads.loc[leads["queued"]].reset_index(drop=True)
        expected = pd.Series(fitted["ml_g1"][:, 0, 0] - fitted["ml_g0"][:, 0, 0], index=queued["lead_id"])
        assert np.allclose(queue.contact_by_lead_, expected.loc[queue.leads_["lead_id"]].to_numpy())
        candidates = queue.leads_["lead_id"].isin(leads.loc[removed, "lead_id"]).to_numpy()
        d = queue.displacement(candidates, 1.0, queue.contact_by_lead_, models["speed"][0])
        replayed.append(d["displacement"])
    ratio = sum(replayed) / sum(true)
    print(f"displacement replayed / true: {ratio:.2f}; own value / true: {sum(own) / sum(true):.2f}; "
          f"correlation {np.corrcoef(true, replayed)[0, 1]:.2f}")  # fmt: skip
    # measured over the 10 worlds: ratio 0.96, correlation 0.46 (valued at the average contact effect
    # instead: 0.89 and 0.66); the naive answers are far off: no displacement (0) and
    # "the removed leads' own value" at sum(own) / sum(true) = 2.39
    assert 0.6 <= ratio <= 1.3, (ratio, true, replayed)
    assert sum(own) / sum(true) > 1.5
    assert np.corrcoef(true, replayed)[0, 1] > 0.3


def test_trimmed_contact_model_falls_back_to_its_average_effect(worlds):
    leads = worlds[0]["leads"]
    queue, models = _production_queue(leads, trim=0.1)
    # trimming refits the contact model on fewer leads: no per-lead values, every lead gets the ATT
    assert len(models["contact"].model_.predictions["ml_g1"]) < int(leads["queued"].sum())
    assert "contact_by_lead" not in models
    assert np.allclose(queue.contact_by_lead_, models["contact"].effect_)
