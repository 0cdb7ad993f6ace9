"""Replays under common random numbers: invariants, capacity, experiment truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairshare.simulate import SimulationConfig, simulate, simulate_with_truth
from fairshare.simulate.truth import INCREMENTAL_COLUMNS, SCENARIO_COLUMNS


def test_truth_tables_have_documented_columns(small_world):
    truth = small_world.truth
    assert {"scenarios", "incremental", "leads", "events", "reps", "accounts", "experiment"} <= set(truth)
    assert list(truth["scenarios"].columns) == SCENARIO_COLUMNS
    assert list(truth["incremental"].columns) == INCREMENTAL_COLUMNS
    units = set(truth["incremental"].unit)
    assert {"marketing", "sdr", "ae", "channel:paid_search", "channel:events"} <= units
    inc = truth["incremental"]
    assert np.allclose(inc.incremental_revenue, inc.factual_revenue - inc.counterfactual_revenue)
    leads = truth["leads"]
    assert set(leads.lead_id) == set(small_world.tables["leads"].lead_id)
    assert leads.true_p_win.between(0, 1).all()
    assert (leads.true_p_win <= leads.true_p_opportunity + 1e-12).all()
    events = truth["events"]
    contacted = events.first_contact_at.notna()
    assert (events.first_contact_at[contacted] >= events.created_at[contacted]).all()
    assert set(truth["reps"].team) == {"SDR", "AE"}


def test_marketing_off_has_no_marketing_and_less_revenue(small_config):
    world = simulate_with_truth(small_config, seed=3, scenarios=["marketing_off"], keep_replays=True)
    off = world.replays["marketing_off"]
    assert len(off["touches"]) == 0 and len(off["spend"]) == 0
    assert (off["leads"].source_team != "marketing").all()
    s = world.truth["scenarios"].set_index("scenario")
    assert s.loc["marketing_off", "won_revenue"] < s.loc["factual", "won_revenue"]
    assert s.loc["marketing_off", "expected_revenue"] < s.loc["factual", "expected_revenue"]
    # marketing does not touch the SDR prospecting calendar: same outbound attempts
    acts = world.tables["activities"]
    prospecting = acts[acts.prospecting.notna()][["at", "rep_id", "account_id"]].reset_index(drop=True)
    off_acts = off["activities"]
    off_prospecting = off_acts[off_acts.prospecting.notna()][["at", "rep_id", "account_id"]].reset_index(
        drop=True
    )
    pd.testing.assert_frame_equal(prospecting, off_prospecting)


def _outcomes(tables: dict[str, pd.DataFrame], accounts: set[str]) -> pd.DataFrame:
    opps = tables["opportunities"]
    cols = ["opportunity_id", "account_id", "created_at", "amount", "is_won", "closed_at", "owner_rep_id"]
    part = opps[opps.account_id.isin(accounts)][cols]
    return part.sort_values("opportunity_id").reset_index(drop=True)


def test_channel_off_changes_only_accounts_the_channel_touched():
    # ample capacity: no queue couples one account's leads to another's
    cfg = SimulationConfig(accounts=400, sdr_leads_per_day=50, ae_new_opportunities_per_day=50)
    world = simulate_with_truth(cfg, seed=4, scenarios=["channel_off:events", "channel_off:paid_search"],
                                keep_replays=True)  # fmt: skip
    touches = world.tables["touches"]
    for channel in ("events", "paid_search"):
        off = world.replays[f"channel_off:{channel}"]
        assert channel not in set(off["touches"].channel)
        touched = set(touches[touches.channel == channel].account_id)
        untouched = set(world.tables["accounts"].account_id) - touched
        assert len(touched) > 10 and len(untouched) > 10
        pd.testing.assert_frame_equal(_outcomes(world.tables, untouched), _outcomes(off, untouched))
        leads_f = world.tables["leads"]
        leads_o = off["leads"]
        assert set(leads_f[leads_f.account_id.isin(untouched)].lead_id) == set(
            leads_o[leads_o.account_id.isin(untouched)].lead_id
        )
        # and the channel did change something among the accounts it touched
        assert not _outcomes(world.tables, touched).equals(_outcomes(off, touched)) or set(
            leads_f[leads_f.account_id.isin(touched)].lead_id
        ) != set(leads_o[leads_o.account_id.isin(touched)].lead_id)


def test_lower_capacity_means_more_leads_never_contacted():
    cfg = SimulationConfig(accounts=600)
    factors = ["capacity:0.25", "capacity:0.5", "capacity:0.75", "capacity:2", "capacity:4"]
    world = simulate_with_truth(cfg, seed=2, scenarios=factors)
    s = world.truth["scenarios"].set_index("scenario")["never_contacted_share"]
    ordered = [s[f] for f in factors[:3]] + [s["factual"]] + [s[f] for f in factors[3:]]
    assert all(a > b for a, b in zip(ordered[:3], ordered[1:4], strict=True)), ordered
    assert all(a >= b for a, b in zip(ordered, ordered[1:], strict=False)), ordered
    assert ordered[0] > 0.35 and ordered[-1] < 0.02


def test_default_world_is_realistic():
    world = simulate(SimulationConfig(), seed=0)
    s = world.truth["scenarios"].iloc[0]
    assert 0.10 <= s["never_contacted_share"] <= 0.25
    assert world.tables["accounts"].shape[0] == 3000
    assert 200 <= s["n_opportunities"] <= 1000
    opps = world.tables["opportunities"]
    win_rate = opps[opps.is_closed].is_won.mean()
    assert 0.2 <= win_rate <= 0.6


def test_sdr_and_ae_off_baselines(small_config):
    world = simulate_with_truth(small_config, seed=8, scenarios=["sdr_off", "ae_off"], keep_replays=True)
    no_sdr, no_ae = world.replays["sdr_off"], world.replays["ae_off"]
    sdr_ids = set(world.tables["reps"].query("team == 'SDR'").rep_id)
    assert not set(no_sdr["activities"].rep_id) & sdr_ids
    assert (no_sdr["leads"].source_team != "sdr").all()
    assert no_ae["opportunities"].owner_rep_id.isna().all()
    assert len(no_ae["opportunities"]) > 0
    s = world.truth["scenarios"].set_index("scenario")
    assert s.loc["ae_off", "won_revenue"] < s.loc["factual", "won_revenue"]
    assert s.loc["sdr_off", "won_revenue"] < s.loc["factual", "won_revenue"]


def test_experiment_effect_recovered_by_difference_in_means():
    cfg = SimulationConfig(accounts=1500, experiment_effect=1.0)
    diffs, truths = [], []
    for seed in range(8):
        world = simulate(cfg, seed=seed)
        t = world.tables
        arm = t["experiments"].set_index("unit_id").arm
        opps = t["opportunities"]
        early = opps[opps.created_at < pd.Timestamp(cfg.start, tz="UTC") + pd.Timedelta(days=220)]
        early = early.assign(arm=early.owner_rep_id.map(arm))
        means = early.groupby("arm").is_won.mean()
        diffs.append(means["treatment"] - means["control"])
        truths.append(world.truth["experiment"].true_ate_win_prob.iloc[0])
    diffs, truths = np.asarray(diffs), np.asarray(truths)
    se = diffs.std(ddof=1) / np.sqrt(diffs.size)
    assert truths.mean() > 0.1
    assert abs(diffs.mean() - truths.mean()) < 3 * se + 0.01, (diffs.mean(), truths.mean(), se)
    assert diffs.mean() > 2 * se  # the program's effect is visible


def test_experiment_replays_bracket_the_factual_world(small_config):
    world = simulate_with_truth(small_config, seed=9, scenarios=["experiment_none", "experiment_all"])
    s = world.truth["scenarios"].set_index("scenario")["expected_revenue"]
    assert s["experiment_none"] < s["factual"] < s["experiment_all"]
    assert world.truth["experiment"].expected_revenue_effect.iloc[0] > 0


def _exposure_confounding(world) -> float:
    """corr(exposure to targeted channels not explained by observed fit, hidden fit noise)."""
    a = world.truth["accounts"]
    push = a[[f"touches_{c}" for c in world.config.channels]].sum(axis=1)
    x = np.column_stack([np.ones(len(a)), a.fit_observed, a.fit_observed**2])
    y = np.log1p(push.to_numpy(float))
    resid = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    return float(np.corrcoef(resid, a.fit_hidden_noise)[0, 1])


def test_targeting_uses_observables_unless_confounding_is_asked_for():
    plain = simulate(SimulationConfig(accounts=2000), seed=1)
    confounded = simulate(SimulationConfig(accounts=2000, targeting_confounding=1.0), seed=1)
    assert abs(_exposure_confounding(plain)) < 0.08
    assert _exposure_confounding(confounded) > 0.5


def test_queue_without_keeps_every_lead_and_frees_the_queue_for_the_others():
    cfg = SimulationConfig(accounts=800, sdr_leads_per_day=0.45)  # a queue that binds
    world = simulate_with_truth(cfg, seed=5, scenarios=["queue_without:paid_social"], keep_replays=True)
    factual, replay = world.tables["leads"].set_index("lead_id"), world.replays["queue_without:paid_social"]
    replay = replay["leads"].set_index("lead_id")
    assert factual.index.equals(replay.index)  # nothing upstream of the queue changes
    pd.testing.assert_frame_equal(
        world.tables["touches"], world.replays["queue_without:paid_social"]["touches"]
    )
    events = world.truth["events"].set_index("lead_id").loc[factual.index]
    left_out = (
        (factual.source_team == "marketing") & (factual.source_channel == "paid_social") & events.queued
    )
    assert left_out.sum() > 20
    assert events.first_contact_at[left_out].notna().any()  # in the factual world some of them were worked
    acts = world.replays["queue_without:paid_social"]["activities"]
    assert not acts.lead_id.isin(factual.index[left_out]).any()  # in the replay none is
    row = world.truth["incremental"].set_index("unit").loc["queue_without:paid_social"]
    own = world.truth["leads"].set_index("lead_id")["true_expected_value"].loc[factual.index][left_out].sum()
    # the others gain from the freed capacity, so losing these leads costs less than their own value
    assert 0 < row["incremental_expected_revenue"] < own
