"""Speed to lead, SLAs and stuck pipeline: hand-checked on examples/tiny, hand-built folders, and
against the simulator's event log (the truth)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairshare import Workspace
from fairshare.config import DefinitionsError, parse_definitions
from fairshare.funnel import Funnel, results
from fairshare.funnel.sla import BREACH_COLUMNS, SLA_COLUMNS, STUCK_COLUMNS, ServiceLevels
from fairshare.intervals import median_interval
from frame_rows import only_row


def test_tiny_speed_to_lead_and_sla(tiny_ws):
    fn = ServiceLevels().fit(Funnel().fit(tiny_ws))
    assert fn.as_of_ == pd.Timestamp("2026-03-20T10:00:00").to_pydatetime()  # O1's close: the latest event
    speed = only_row(fn.speed_to_lead(), source_team="all")
    # handed over: the MQLs L1 (contacted after 16 h) and L2 (after 53 h); L3 was created by its SDR
    assert speed["leads"] == 2 and speed["never_contacted"] == 0
    assert speed["median_hours"] == pytest.approx((16 + 53) / 2)
    sla = fn.table()
    assert list(sla.columns) == SLA_COLUMNS
    assert (sla["target"] == 0.9).all()  # [sla] compliance_target, stored with the run for the chart
    first = only_row(sla, sla="first_contact")
    assert (first["applicable"], first["breaches"]) == (2, 1)
    decision = only_row(sla, sla="mql_decision")
    assert (decision["applicable"], decision["breaches"]) == (2, 1)  # L2 rejected after 2 days 23h55
    assert only_row(sla, sla="rejection_reason")["breaches"] == 0
    breaches = fn.breaches()
    assert list(breaches.columns) == BREACH_COLUMNS
    assert breaches[["sla", "entity_id"]].values.tolist() == [["first_contact", "L2"], ["mql_decision", "L2"]]
    assert breaches["overdue_hours"].tolist() == pytest.approx([29.0, 23 + 55 / 60])


def test_each_sla_can_carry_its_own_target_else_the_shared_one(tiny_ws):
    funnel = Funnel().fit(tiny_ws)
    funnel.definitions_ = parse_definitions(
        "[sla]\ncompliance_target = 0.8\nfirst_contact_target = 0.95\nstuck_opportunity_target = 0.5\n"
    )
    targets = ServiceLevels().fit(funnel).table().groupby("sla")["target"].unique().map(list).to_dict()
    assert targets == {"first_contact": [0.95], "never_contacted": [0.95],  # the same SLA's other side
                       "mql_decision": [0.8], "rejection_reason": [0.8], "stuck_opportunity": [0.5]}  # fmt: skip
    with pytest.raises(DefinitionsError, match=r"sla.stuck_opportunity_target: .*\(allowed: 0 to 1\)"):
        parse_definitions("[sla]\nstuck_opportunity_target = 1.5\n")
    with pytest.raises(DefinitionsError, match="did you mean 'mql_decision_target'"):
        parse_definitions("[sla]\nmql_decison_target = 0.5\n")


def test_stuck_pipeline_depends_on_as_of(tiny_ws):
    assert (
        ServiceLevels().fit(Funnel().fit(tiny_ws)).stuck_pipeline().empty
    )  # O2's last activity (Mar 1) is 19 days before as_of
    later = ServiceLevels().fit(Funnel(as_of="2026-04-15T12:00:00+02:00").fit(tiny_ws))  # = 10:00 UTC
    stuck = later.stuck_pipeline()
    assert list(stuck.columns) == STUCK_COLUMNS
    assert stuck["opportunity_id"].tolist() == ["O2"]
    assert stuck["days_idle"].iloc[0] == pytest.approx(45.0)
    assert stuck["stage"].iloc[0] == "proposal" and stuck["amount"].iloc[0] == 15000
    row = only_row(later.table(), sla="stuck_opportunity", stage="all")
    assert row["breaches"] == 1 and row["amount"] == 15000
    # the unresolved SLAs are judged at as_of too: nothing else changes for tiny
    assert "O2" in later.breaches()["entity_id"].tolist()


def _hand_built(folder: Path) -> Path:
    """Two MQLs on one contact each; a prospecting call on L2's contact must not count as its first
    contact; L3 (partner) is never contacted; L4 is created one hour before the data ends (pending)."""
    folder.mkdir(parents=True)
    pd.DataFrame({"account_id": ["A1", "A2", "A3", "A4"]}).to_csv(folder / "accounts.csv", index=False)
    pd.DataFrame({"contact_id": ["C1", "C2", "C3", "C4"], "account_id": ["A1", "A2", "A3", "A4"]}).to_csv(
        folder / "contacts.csv", index=False
    )
    pd.DataFrame({"rep_id": ["S1"], "team": ["SDR"], "hourly_cost": [50.0]}).to_csv(
        folder / "reps.csv", index=False
    )
    pd.DataFrame({
        "lead_id": ["L1", "L2", "L3", "L4"],
        "created_at": ["2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z", "2026-01-10T09:00:00Z"],
        "contact_id": ["C1", "C2", "C3", "C4"],
        "source_team": ["marketing", "marketing", "partner", "partner"],
    }).to_csv(folder / "leads.csv", index=False)  # fmt: skip
    pd.DataFrame({
        "entity": ["lead"] * 2, "entity_id": ["L1", "L2"], "stage": ["MQL", "MQL"],
        "at": ["2026-01-01T10:00:00Z"] * 2,
    }).to_csv(folder / "lifecycle.csv", index=False)  # fmt: skip
    pd.DataFrame({
        "activity_id": ["X1", "X2", "X3"], "rep_id": ["S1"] * 3,
        "at": ["2026-01-01T12:00:00Z", "2026-01-01T13:00:00Z", "2026-01-03T10:00:00Z"],
        "contact_id": ["C1", "C2", "C2"], "lead_id": [None, None, "L2"], "kind": ["call"] * 3,
        "prospecting": [None, "cold_call", None], "duration_s": [60, 60, 60],
    }).to_csv(folder / "activities.csv", index=False)  # fmt: skip
    pd.DataFrame({"opportunity_id": ["O1"], "account_id": ["A1"], "created_at": ["2026-01-10T10:00:00Z"],
                  "amount": [1000.0]}).to_csv(folder / "opportunities.csv", index=False)  # fmt: skip
    return folder


def test_first_contact_rules_on_a_hand_built_folder(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    ws.import_(_hand_built(tmp_path / "data"))
    fn = ServiceLevels().fit(Funnel().fit(ws))
    facts = fn.lead_sla_facts().execute().set_index("lead_id")
    assert facts.loc["L1", "contact_hours"] == pytest.approx(2.0)  # a contact-level call, no prospecting
    assert facts.loc["L2", "contact_hours"] == pytest.approx(48.0)  # the cold call at 13:00 does not count
    assert bool(facts.loc["L4", "contact_pending"]) and not bool(facts.loc["L4", "contact_breach"])
    speed = only_row(fn.speed_to_lead(), source_team="all")
    assert (speed["leads"], speed["due"], speed["never_contacted"]) == (4, 3, 1)  # L3; L4 is not due yet
    assert speed["never_contacted_share"] == pytest.approx(1 / 3)
    breaches = fn.breaches()
    first = breaches[breaches["sla"] == "first_contact"].set_index("entity_id")
    assert sorted(first.index) == ["L2", "L3"]
    assert first.loc["L3", "detail"] == "never contacted"
    ws.close()


# --- against the simulator's event log -----------------------------------------------------------------


def _truth_counts(events: pd.DataFrame, as_of: pd.Timestamp, hours: float, days: float) -> dict[str, float]:
    """SLA figures computed directly from the simulator's per-lead event log."""
    ev = events.copy()
    for c in ("created_at", "first_contact_at", "mql_at", "decision_at"):
        ev[c] = pd.to_datetime(ev[c]).dt.tz_localize(None)
    q = ev[ev["queued"]]
    due = q["created_at"] + pd.Timedelta(hours=hours)
    contacted = q["first_contact_at"].notna()
    judged = as_of > due
    breach = np.where(contacted, q["first_contact_at"] > due, judged)
    m = ev[ev["mql_at"].notna()]
    decision_due = m["mql_at"] + pd.Timedelta(days=days)
    decided = m["decision_at"].notna()
    decision_breach = np.where(decided, m["decision_at"] > decision_due, as_of > decision_due)
    speed = q.loc[contacted, "speed_to_lead_hours"]
    return {
        "handed_over": len(q),
        "never": int((judged & ~contacted).sum()),
        "judged": int(judged.sum()),
        "first_contact_breaches": int(breach.sum()),
        "decision_breaches": int(decision_breach.sum()),
        "median_speed": float(speed.median()),
    }


def test_sla_figures_equal_the_simulator_event_log(sim_workspace):
    fn = ServiceLevels().fit(Funnel().fit(sim_workspace.workspace))
    events = sim_workspace.truth["events"]
    sla = fn.definitions_.sla
    truth = _truth_counts(events, pd.Timestamp(fn.as_of_), sla.first_contact_hours, sla.mql_decision_days)
    facts = fn.lead_sla_facts().execute().set_index("lead_id")
    ev = events.set_index("lead_id")
    assert facts["handed_over"].sum() == truth["handed_over"]
    assert (facts["handed_over"] == ev["queued"].reindex(facts.index)).all()
    speed = only_row(fn.speed_to_lead(), source_team="all")
    assert speed["never_contacted"] == truth["never"] and speed["due"] == truth["judged"]
    assert speed["never_contacted_share"] == pytest.approx(truth["never"] / truth["judged"])
    assert speed["median_hours"] == pytest.approx(truth["median_speed"], abs=1e-3)
    table = fn.table()
    assert only_row(table, sla="first_contact")["breaches"] == truth["first_contact_breaches"]
    assert only_row(table, sla="mql_decision")["breaches"] == truth["decision_breaches"]
    listed = fn.breaches()
    assert (listed["sla"] == "first_contact").sum() == truth["first_contact_breaches"]
    assert (listed["sla"] == "mql_decision").sum() == truth["decision_breaches"]


def test_lower_capacity_raises_never_contacted_share(sim_workspace, tmp_path):
    from fairshare.scorecard import Scorecard
    from fairshare.simulate import SimulationConfig, simulate

    world = simulate(SimulationConfig(accounts=400), seed=11, scenario="capacity:0.3")
    folder = world.write(tmp_path / "company", format="parquet")
    low = Workspace.init(tmp_path / "ws")
    low.import_(folder)
    base = sim_workspace.workspace

    def share(ws):
        card = Scorecard(period="all", with_sql=False).fit(ws).result_.set_index("kpi")
        return card.loc["never_contacted_share", "value"]

    full, reduced = share(base), share(low)
    assert reduced > full + 0.05
    fn = ServiceLevels().fit(Funnel().fit(low))
    truth = _truth_counts(world.truth["events"], pd.Timestamp(fn.as_of_), 24.0, 2.0)
    assert reduced == pytest.approx(truth["never"] / truth["judged"])
    low.close()


def test_results_include_the_sla_tables(tiny_ws):
    out = results(tiny_ws, {})
    assert list(out["sla"].columns) == SLA_COLUMNS
    assert list(out["sla_breaches"].columns) == BREACH_COLUMNS
    assert list(out["stuck_pipeline"].columns) == STUCK_COLUMNS
    assert out["sla_breaches"]["entity_id"].tolist() == ["L2", "L2"]
    assert only_row(out["speed_to_lead"], source_team="all")["leads"] == 2


def test_median_interval_order_statistics_and_coverage():
    x = np.arange(1.0, 21.0)  # n = 20: P(B <= 5) = 0.0207 < 0.05 <= P(B <= 6): ranks 6 and 15
    assert median_interval(x) == (6.0, 15.0)
    assert median_interval(x, level=0.99)[0] < 6.0  # wider at a higher level
    assert median_interval([3.0, np.nan, 1.0]) == (1.0, 3.0)  # too few for 90%: min and max
    assert all(np.isnan(median_interval([])))
    rng = np.random.default_rng(5)
    hits = 0
    for _ in range(400):
        low, high = median_interval(rng.exponential(10.0, size=41))
        hits += low <= 10.0 * np.log(2) <= high
    assert 0.87 <= hits / 400 <= 0.99  # exact-binomial: at least 90%, a little conservative
