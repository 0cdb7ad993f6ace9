"""Deal forecast, backtest and spend what-if on the small simulated company: point in time (with the
leakage guard), the default period, the backtest's figures by hand, and the CLI rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fairshare.forecast import BACKTEST_COLUMNS, FORECAST_COLUMNS, Backtest, DealForecast
from fairshare.forecast.backtest import crps, interval_scale, pinball
from fairshare.forecast.deals import stretch
from fairshare.forecast.history import DealHistory
from fairshare.forecast.target import forecast_period
from fairshare.forecast.whatif import BudgetChange, budget_changes
from fairshare.scoring.features import LeakageError


@pytest.fixture(scope="module")
def history(sim_workspace) -> DealHistory:
    return DealHistory.of(sim_workspace.workspace)


def test_snapshot_uses_only_what_was_known(sim_workspace, history):
    ws = sim_workspace.workspace
    s = pd.Timestamp("2025-08-15")
    snap = history.snapshot(s)
    opps = ws.table("opportunities").execute().set_index("opportunity_id")
    expected = opps[(opps["created_at"] <= s) & ~(opps["closed_at"] <= s)]
    assert set(snap["opportunity_id"]) == set(expected.index) and len(snap) >= 3
    # the stage is the latest lifecycle row by then, not today's stage
    lc = ws.table("lifecycle").execute()
    lc = lc[(lc["entity"] == "opportunity") & (lc["at"] <= s) & lc["stage"].isin(history.stage_names)]
    then = lc.sort_values("at").groupby("entity_id")["stage"].last()
    got = snap.set_index("opportunity_id")["stage_index"]
    for opp, stage in then.items():
        if opp in got.index:
            assert got[opp] == history.stage_names.index(stage)
    moved_on = [o for o in then.index if o in got.index and opps.loc[o, "stage"] != then[o]]
    assert moved_on  # some deals were in another stage then than now: the test above means something
    assert (snap["days_since_activity"] >= 0).all() and (snap["days_in_stage"] >= 0).all()


def test_a_future_dated_feature_is_refused(sim_workspace, history):
    def outcome_block(h, open_, s):  # leaks: when the deal closed (after s for every open deal)
        closed = h.opps.set_index("opportunity_id")["closed_at"].reindex(open_["opportunity_id"])
        return pd.DataFrame({"days_to_close": ((closed - s).dt.days).to_numpy(float),
                             "as_of": closed.to_numpy()})  # fmt: skip

    model = DealForecast(n_draws=100, extra_blocks=(outcome_block,))
    with pytest.raises(LeakageError, match="outcome_block.*after the snapshot time"):
        model.fit(sim_workspace.workspace, as_of="2025-08-15")
    history.extra_blocks = ()


def test_default_period_is_never_one_that_is_over(sim_workspace):
    nearly_over = pd.Timestamp("2025-10-01") - pd.Timedelta(days=0.002)
    assert forecast_period(nearly_over, "quarter", 7)[0] == "2025-Q4"
    assert forecast_period(nearly_over, "quarter", 0)[0] == "2025-Q3"
    assert forecast_period(pd.Timestamp("2025-08-15"), "quarter", 7, ahead=2)[0] == "2026-Q1"
    f = DealForecast(n_draws=1000, random_state=1).fit(sim_workspace.workspace, as_of=nearly_over)
    total = f.result_.set_index("rep_id").loc["all"]
    assert list(f.result_.columns) == FORECAST_COLUMNS and f.period_ == "2025-Q4"
    assert total["booked_to_date"] == 0 and total["p10"] < total["p50"] < total["p90"]  # a real range
    assert f.deals_["probability"].between(0, 1).all()


def test_scores_by_hand():
    # two equally likely outcomes 0 and 1 against 0: E|X - y| = 0.5, E|X - X'| = 0.5 -> 0.5 - 0.25
    assert crps(np.array([0.0, 1.0]), 0.0) == pytest.approx(0.25)
    assert crps(np.full(10, 3.0), 3.0) == pytest.approx(0.0)
    # P10 8, P50 10, P90 12 against 14: losses 0.1*6, 0.5*4, 0.9*2 -> mean 4.4/3
    assert pinball({0.1: 8.0, 0.5: 10.0, 0.9: 12.0}, 14.0) == pytest.approx(4.4 / 3)
    # draws 0..100: P10-P90 half-widths 40 either side of 50; actuals needing k = 0.5, 1, 1.5, 2
    draws = np.linspace(0, 100, 10001)
    ks = interval_scale([70.0, 90.0, 110.0, -30.0], [draws] * 4, prior=1.0, min_forecasts=4)
    assert ks == pytest.approx(2.0)  # rank ceil(5 * 0.8) = 4 of 4: the largest
    assert interval_scale([70.0], [draws], prior=1.3, min_forecasts=4) == 1.3  # too few: the prior
    wide = stretch(draws[:, None], 2.0, 0.0)[:, 0]
    assert np.quantile(wide, [0.1, 0.9]) == pytest.approx([0.0, 100.0 + 30.0], abs=0.1)  # 50 ± 2·40, floor 0


def test_backtest_on_a_small_world(sim_workspace):
    ws = sim_workspace.workspace
    bt = Backtest(offsets=(10, 45), n_draws=400, random_state=0).fit(ws)
    rows = bt.result_
    assert list(rows.columns) == BACKTEST_COLUMNS
    opps = ws.table("opportunities").execute()
    won = opps[opps["is_won"].fillna(False)]
    # every (quarter, offset) is scored once `backtest_min_wins` deals had been won by its as-of (before that
    # there are no win rates or amounts to learn from); this small company reaches 5 wins during 2025-Q2
    won_at = np.sort(pd.to_datetime(won["closed_at"]).to_numpy())
    candidates = [(q, pd.Timestamp(start) + pd.Timedelta(days=off))
                  for q, start in (("2025-Q2", "2025-04-01"), ("2025-Q3", "2025-07-01"), ("2025-Q4", "2025-10-01"))
                  for off in (10, 45)]  # fmt: skip
    known = [int((won_at <= at.to_datetime64()).sum()) for _, at in candidates]
    need = ws.definitions.forecast.backtest_min_wins
    assert rows["period"].tolist() == [q for (q, _), k in zip(candidates, known, strict=True) if k >= need]
    assert bt.skipped_ == sum(k < need for k in known) and rows["period"].iloc[-4:].tolist() == [
        "2025-Q3", "2025-Q3", "2025-Q4", "2025-Q4"
    ]  # fmt: skip
    q3 = won[(won["closed_at"] >= "2025-07-01") & (won["closed_at"] < "2025-10-01")]["amount"].sum()
    assert rows.loc[rows["period"] == "2025-Q3", "actual"].tolist() == [q3, q3]
    fc = ws.table("forecasts").execute()
    q3_day10 = rows[(rows["period"] == "2025-Q3") & (rows["offset_days"] == 10)].iloc[0]
    commits = fc[
        (fc["period"] == "2025-Q3") & (fc["category"] == "commit") & (fc["submitted_at"] <= q3_day10["as_of"])
    ]
    latest = commits.sort_values("submitted_at").groupby("rep_id")["amount"].last()
    assert q3_day10["commit"] == pytest.approx(latest.sum())  # day 10: each rep's day-7 call, the latest then
    assert (rows["p10"] <= rows["p50"]).all() and (rows["p50"] <= rows["p90"]).all()
    # no forecast had a settled one before it until 2025-Q2 ended (2025-07-01): the prior stretch
    prior = rows["as_of"] < pd.Timestamp("2025-07-01")
    assert (rows.loc[prior, "interval_scale"] == ws.definitions.forecast.interval_scale).all()
    summary = bt.summary_.set_index("period")
    assert summary.loc["all", "forecasts"] == len(rows)
    assert summary.loc["all", "coverage"] == pytest.approx(rows["covered"].mean())
    assert summary.loc["all", "p50_mape"] == pytest.approx(
        (abs(rows["p50"] - rows["actual"]) / rows["actual"]).mean()
    )


def test_budget_changes_parse_and_explain():
    assert budget_changes(["paid_search=+20%", "events=-100%", "email=1.5"]) == [
        BudgetChange("paid_search", 1.2), BudgetChange("events", 0.0), BudgetChange("email", 1.5)
    ]  # fmt: skip
    with pytest.raises(ValueError, match="channel=\\+20%"):
        budget_changes(["paid_search+20"])
    with pytest.raises(ValueError, match="below zero"):
        budget_changes(["paid_search=-120%"])


def test_cli_backtest_and_whatif_rows(sim_workspace, tmp_path):
    import shutil

    from typer.testing import CliRunner

    import fairshare.cli.forecast  # noqa: F401  (registers the command)
    from fairshare.cli import app

    # the CLI opens its own (read-only) connection, which DuckDB refuses while this process holds the
    # session fixture's writer: run it on a checkpointed copy
    sim_workspace.workspace.con.raw_sql("CHECKPOINT")
    path = str(shutil.copytree(sim_workspace.workspace.path, tmp_path / "ws"))
    runner = CliRunner()
    res = runner.invoke(app, ["forecast", "backtest", "--offsets", "30", "--draws", "300", "--format", "json",
                              "--workspace", path])  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["period"] for r in rows][-2:] == [
        "2025-Q3",
        "2025-Q4",
    ]  # 2025-Q2 at day 30: maybe < 5 wins known
    assert {"period", "as_of", "actual", "p10", "p50", "p90", "commit"} <= set(rows[0])
    bad = runner.invoke(app, ["forecast", "backtest", "--offsets", "ten", "--workspace", path])
    assert bad.exit_code != 0 and "--offsets" in bad.output
    budget = tmp_path / "budget.csv"
    budget.write_text("period,channel,amount\n2026-Q1,paid_search,0\n")
    res = runner.invoke(app, ["forecast", "--as-of", "2025-10-01", "--spend", "paid_search=+100%",
                              "--draws", "500", "--format", "json", "--workspace", path])  # fmt: skip
    assert res.exit_code == 0, res.output
    more = json.loads(res.stdout)
    assert [r["period"] for r in more] == ["2025-Q4", "2026-Q1"]
    assert all(
        r["delta_p50"] >= 0 and r["p50"] >= r["base_p50"] for r in more
    )  # more spend, never fewer wins
    res = runner.invoke(app, ["forecast", "--as-of", "2025-10-01", "--spend-file", str(budget), "--draws", "500",
                              "--format", "json", "--workspace", path])  # fmt: skip
    assert res.exit_code == 0, res.output
    cut = json.loads(res.stdout)
    assert cut[0]["delta_p50"] == 0 and cut[1]["delta_p50"] <= 0  # the cut starts in 2026-Q1
    unknown = runner.invoke(app, ["forecast", "--spend", "radio=+10%", "--workspace", path])
    assert unknown.exit_code != 0 and "no spend recorded for radio" in unknown.output
