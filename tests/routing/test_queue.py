"""The work queue: open leads only, SLA-urgent first, then $ per hour; unworked leads to the lightest rep."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from fairshare.routing import WorkQueue, queue_facts

NOW = pd.Timestamp("2026-03-02 12:00")


def _leads():
    # value / effort: L1 1000/h, L2 4000/h, L3 2000/h (L3 is worth the most but costs 5 h), L4 500/h
    return pd.DataFrame({
        "lead_id": ["L1", "L2", "L3", "L4"], "account_id": ["A1", "A2", "A3", "A4"],
        "p_win": [0.1, 0.2, 0.3, 0.05], "value": [1000.0, 2000.0, 10000.0, 500.0],
        "effort_hours": [1.0, 0.5, 5.0, 1.0],
    }).assign(value_per_hour=lambda f: f["value"] / f["effort_hours"])  # fmt: skip


def test_value_per_hour_order_with_the_sla_urgent_lead_first_and_capacity():
    open_leads = pd.DataFrame({
        "lead_id": ["L1", "L2", "L3", "L4"],
        "sla_due_at": [pd.NaT, pd.NaT, pd.NaT, NOW + pd.Timedelta(hours=2)],  # L4 uncontacted, due in 2 h
        "owner_rep_id": ["R1", "R1", "R1", "R1"],
    })  # fmt: skip
    q = WorkQueue(urgent_hours=4.0, days=1.0).fit(
        _leads(), open_leads, pd.DataFrame({"rep_id": ["R1"], "hours_per_day": [2.0]}), NOW
    )
    table = q.result_
    assert table["lead_id"].tolist() == ["L4", "L2", "L3", "L1"]  # urgent, then 4000, 2000, 1000 $/h
    assert table["rank"].tolist() == [1, 2, 3, 4]
    # 2 h a day: L4 (1 h) and L2 (0.5 h) fit, L3 starts at 1.5 h (fits), L1 starts at 6.5 h (does not)
    assert table["fits_capacity"].tolist() == [True, True, True, False]
    due_later = open_leads.assign(sla_due_at=[pd.NaT, pd.NaT, pd.NaT, NOW + pd.Timedelta(hours=30)])
    later = WorkQueue(urgent_hours=4.0).fit(
        _leads(), due_later, pd.DataFrame({"rep_id": ["R1"], "hours_per_day": [2.0]}), NOW
    )
    assert later.result_["lead_id"].tolist() == ["L2", "L3", "L1", "L4"]


def test_unworked_leads_go_best_first_to_the_rep_with_the_most_free_hours():
    open_leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3", "L4"], "sla_due_at": pd.NaT,
                               "owner_rep_id": [None, None, None, "R2"]})  # fmt: skip
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "hours_per_day": [1.0, 1.0]})
    table = WorkQueue().fit(_leads(), open_leads, reps, NOW).result_.set_index("lead_id")
    # R2 already has L4 (1 h): L2 (best) goes to R1 (0 h), L3 to R1 (0.5 h < 1 h), L1 to R2 (1 h < 5.5 h)
    assert table["rep_id"].to_dict() == {"L1": "R2", "L2": "R1", "L3": "R1", "L4": "R2"}
    assert table["assigned"].to_dict() == {"L1": False, "L2": False, "L3": False, "L4": True}


def test_queue_holds_only_open_leads_and_the_command_prints_rows(sim_workspace):
    ws = sim_workspace.workspace
    facts = queue_facts(ws)
    opps = ws.table("opportunities").to_pandas()
    assert len(facts) > 0
    assert not set(facts["lead_id"]) & set(opps["lead_id"].dropna())  # no lead that became an opportunity
    from fairshare.cli import app

    ws.close()
    result = CliRunner().invoke(app, ["queue", "--top", "2", "--format", "json", "--workspace", str(ws.path)])
    assert result.exit_code == 0, result.output
    rows = pd.DataFrame(json.loads(result.stdout))
    assert {"rep_id", "lead_id", "account_id", "rank", "p_win", "value", "effort_hours", "value_per_hour",
            "sla_due_at"} <= set(rows.columns)  # fmt: skip
    assert rows["rank"].max() <= 2 and set(rows["lead_id"]) <= set(facts["lead_id"])
    one = rows["rep_id"].iloc[0]
    mine = CliRunner().invoke(app, ["queue", "--rep", one, "--format", "json", "--workspace", str(ws.path)])
    assert {r["rep_id"] for r in json.loads(mine.stdout)} == {one}


def test_queue_simulate_reports_each_policy_and_the_uplift_over_fifo(sim_workspace):
    from fairshare.cli import app

    path = str(sim_workspace.workspace.path)
    args = ["queue", "simulate", "--policy", "value", "-r", "3", "--format", "json", "--workspace", path]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = pd.DataFrame(json.loads(result.stdout))
    assert set(rows["policy"]) == {"value", "fifo"}  # fifo is always replayed: the uplift's baseline
    assert {"won_revenue", "leads_worked", "speed_to_lead_hours", "calls_per_hour"} <= set(rows["metric"])
    bad = CliRunner().invoke(app, ["queue", "simulate", "--policy", "random", "--workspace", path])
    assert bad.exit_code != 0 and "unknown queue policy" in bad.output
