"""Sourced vs influenced on the hand-made company."""

import pytest

from attribution import world  # tests/attribution/world.py (tests/ is on sys.path under pytest)
from fairshare.attribution import sourced
from fairshare.workspace import Workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("sourced")
    w = Workspace.init(root / "ws")
    w.import_(world.write(root / "company"))
    yield w
    w.close()


def test_flags_per_opportunity(ws):
    flags = sourced.opportunity_flags(ws).execute().set_index("opportunity_id")
    assert flags.loc["O1", "source"] == "marketing"
    assert flags.loc["O2", "source"] == "SDR"
    assert flags.loc["O1", "influenced_by_marketing"] and flags.loc["O1", "influenced_by_sdr"]
    # the AE demo happened after O1 was created: it did not influence the opportunity
    assert not flags.loc["O1", "influenced_by_ae"]
    assert flags.loc["O2", "influenced_by_marketing"]  # T6 paid_search on C3 before 02-15


def test_totals(ws):
    t = sourced.sourced_totals(ws).set_index("team")
    assert list(t.columns) == sourced.TOTAL_COLUMNS[1:]
    assert t.loc["marketing", "sourced_revenue"] == 1000.0
    assert t.loc["marketing", "sourced_pipeline"] == 1000.0
    assert t.loc["marketing", "influenced_opportunities"] == 2
    assert t.loc["marketing", "influenced_revenue"] == 1000.0
    assert t.loc["SDR", "sourced_pipeline"] == 500.0
    assert t.loc["SDR", "sourced_revenue"] == 0.0
    assert t.loc["AE", "influenced_opportunities"] == 0
    assert t.loc["marketing", "sourced_revenue_share"] == 1.0


def test_first_touch_sourcing_follows_the_definitions(tmp_path):
    w = Workspace.init(tmp_path / "ws")
    toml = w.path / "fairshare.toml"
    toml.write_text(toml.read_text().replace('sourced_by = "source_team"', 'sourced_by = "first_touch"'))
    w = Workspace(tmp_path / "ws")
    w.import_(world.write(tmp_path / "company"))
    flags = sourced.opportunity_flags(w).execute().set_index("opportunity_id")
    w.close()
    assert flags.loc["O1", "source"] == "marketing"  # T1 paid_search is the first touch in the window
    assert flags.loc["O2", "source"] == "SDR"  # X3, the SDR email on 02-03, comes before T6


def test_an_empty_workspace_gives_zero_totals_and_no_attribution_rows(tmp_path):
    from fairshare import attribution

    w = Workspace.init(tmp_path / "ws")
    out = attribution.results(w, {})
    w.close()
    assert out["attribution"].empty
    assert list(out["attribution"].columns)[:3] == ["model", "by", "key"]
    totals = out["attribution_sourced"]
    assert list(totals["team"]) == ["marketing", "SDR", "AE"]
    assert (totals.drop(columns="team") == 0).all().all()
