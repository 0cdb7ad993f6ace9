"""The journey builder on a hand-made company whose every journey is known."""

from pathlib import Path

import pandas as pd
import pytest

from attribution import world  # tests/attribution/world.py (tests/ is on sys.path under pytest)
from fairshare import journeys
from fairshare.workspace import Workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("journeys")
    w = Workspace.init(root / "ws")
    w.import_(world.write(root / "company"))
    yield w
    w.close()


def as_dict(frame: pd.DataFrame) -> dict[str, tuple]:
    return {r.path: (r.conversions, r.value, r.nulls) for r in frame.itertuples()}


def test_revenue_paths_mix_touches_and_team_labelled_activities_in_the_window(ws):
    got = as_dict(journeys.paths(ws))
    assert got == {
        # T5 is outside the lookback; T3 is on the account itself; X1 (SDR) and X2 (AE) are activities
        "paid_search > email > SDR > webinar > AE > email": (1, 1000.0, 0),
        "SDR > paid_search": (0, 0.0, 1),  # lost opportunity
        "display > display": (0, 0.0, 1),  # account with touches and no opportunity
    }


def test_pipeline_paths_stop_at_opportunity_creation_and_every_opportunity_converts(ws):
    got = as_dict(journeys.paths(ws, stage="pipeline"))
    assert got["paid_search > email > SDR > webinar"] == (1, 1000.0, 0)
    assert got["SDR > paid_search"] == (1, 500.0, 0)
    assert got["display > display"] == (0, 0.0, 1)


def test_collapse_and_grouping_by_team(ws):
    assert "display" in as_dict(journeys.paths(ws, collapse=True))
    by_team = as_dict(journeys.paths(ws, by="team", collapse=True))
    assert by_team["marketing > SDR > marketing > AE > marketing"] == (1, 1000.0, 0)
    no_sales = as_dict(journeys.paths(ws, include_activities=False))
    assert "paid_search > email > webinar > email" in no_sales


def test_touchpoints_carry_times_and_milestones(ws):
    tp = journeys.journeys(ws)
    o1 = tp[tp["journey_id"] == "O1"].set_index("step")
    assert list(o1["key"]) == ["paid_search", "email", "SDR", "webinar", "AE", "email"]
    assert o1.loc[0, "days_before"] == pytest.approx(56.0)  # 2024-01-05 → 2024-03-01 (leap year)
    assert o1.loc[0, "lead_step"] == 1  # last touch at or before the lead's creation (01-10)
    assert o1.loc[0, "opportunity_step"] == 3  # last touch at or before the opportunity's creation (02-01)
    o2 = tp[tp["journey_id"] == "O2"]
    assert o2["lead_step"].isna().all()  # nothing happened before L2 was created
    assert set(tp.columns) == set(journeys.TOUCHPOINT_COLUMNS)


def test_lookback_comes_from_the_definitions(ws):
    short = journeys.touchpoints(ws, lookback_days=30).execute()
    o1 = short[short["journey_id"] == "O1"].sort_values("step")
    assert list(o1["key"]) == ["AE", "email"]  # only 02-05 and 02-20 are within 30 days of 03-01


def test_rejects_unknown_grouping(ws):
    with pytest.raises(ValueError, match="by must be"):
        journeys.paths(ws, by="rep")


def test_excluded_touch_kinds_leave_journeys_and_influence(tmp_path):
    import shutil

    from fairshare import Workspace
    from fairshare.attribution.sourced import opportunity_flags
    from fairshare.journeys import touchpoint_events

    tiny = Path(__file__).resolve().parents[1] / "examples" / "tiny"
    ws_dir = tmp_path / "ws"
    Workspace.init(ws_dir).close()
    with Workspace(ws_dir) as ws:
        ws.import_(tiny)
        before = touchpoint_events(ws, include_activities=False).count().execute()
    text = (
        (ws_dir / "fairshare.toml")
        .read_text()
        .replace("excluded_touch_kinds = []", 'excluded_touch_kinds = ["click", "webinar"]')
    )
    (ws_dir / "fairshare.toml").write_text(text)
    shutil.rmtree(ws_dir / "results", ignore_errors=True)
    with Workspace(ws_dir) as ws:
        after = touchpoint_events(ws, include_activities=False).count().execute()
        flags = opportunity_flags(ws).execute().set_index("opportunity_id")
    assert (before, after) == (5, 2)  # T1, T3, T4 are clicks/webinars
    # O1 (A1): T2 (content visit, C2) still influences it; nothing else changes for A1's visit
    assert bool(flags.loc["O1", "influenced_by_marketing"])
