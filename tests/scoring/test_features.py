"""Point-in-time features: nothing stamped after the scoring time may reach a feature."""

from __future__ import annotations

import ibis
import numpy as np
import pytest
from ibis import _

from fairshare.scoring.features import LeadFeatures, LeakageError, lead_outcomes
from scoring.world import tiny_world


@pytest.fixture(scope="module")
def con():
    return tiny_world(60, np.random.default_rng(1))


def test_touches_after_the_scoring_time_are_not_counted(con):
    at_arrival = LeadFeatures(horizon_days=0).build(con)
    later = LeadFeatures(horizon_days=5).build(con)
    # every lead has one webinar touch 3 days after it arrived (tiny_world)
    assert (at_arrival["touches_kind_webinar"] == 0).all()
    assert (later["touches_kind_webinar"] == 1).all()
    assert (later["touches"] == at_arrival["touches"] + 1).all()


def test_first_response_is_known_only_after_it_happened(con):
    assert LeadFeatures(horizon_days=0).build(con)["hours_to_first_response"].isna().all()
    assert np.allclose(LeadFeatures(horizon_days=1).build(con)["hours_to_first_response"], 5.0)


def test_leakage_guard_fails_on_a_feature_stamped_after_the_scoring_time(con):
    def deal_outcome(ctx):
        """A leaking block: whether the lead's deal was won, known only when it closed."""
        opps = ctx.con.table("opportunities").select(o_lead=_.lead_id, won=_.is_won, closed=_.closed_at)
        j = ctx.leads.join(opps, ctx.leads.lead_id == opps.o_lead)
        return j.select("lead_id", deal_won=j.won.cast("int64"), as_of=j.closed)

    with pytest.raises(LeakageError, match="deal_outcome.*after the scoring time"):
        LeadFeatures(horizon_days=0, extra_blocks=[deal_outcome]).build(con)


def test_leakage_guard_needs_an_as_of_stamp(con):
    def unstamped(ctx):
        return ctx.leads.select("lead_id", constant=ibis.literal(1))

    with pytest.raises(LeakageError, match="no as_of"):
        LeadFeatures(extra_blocks=[unstamped]).build(con)


def test_outcomes_follow_the_opportunities(con):
    out = lead_outcomes(con)
    opps = con.table("opportunities").to_pandas().set_index("lead_id")
    assert out["opportunity"].sum() == len(opps)
    assert out["won"].sum() == int(opps["is_won"].sum())
    won = opps[opps["is_won"]]
    assert np.allclose(out.loc[won.index, "won_amount"], won["amount"])
    assert np.allclose(out["effort_hours"], 600 / 3600)  # one 10-minute call per lead


def test_effort_takes_the_kind_default_when_an_activity_has_no_duration():
    con = tiny_world(20, np.random.default_rng(4))
    con.raw_sql("UPDATE activities SET duration_s = NULL")
    kinds = set(con.table("activities").to_pandas()["kind"])
    minutes = {k: 7.0 for k in kinds}
    assert np.allclose(
        lead_outcomes(con, activity_minutes=minutes)["effort_hours"], 7 / 60
    )  # one call per lead
    assert np.allclose(lead_outcomes(con, activity_minutes={})["effort_hours"], 0.0)
