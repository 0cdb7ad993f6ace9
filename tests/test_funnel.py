"""Funnel stages, breakdowns and size bands: hand-checked on examples/tiny."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairshare import Workspace
from fairshare.config import CONFIG_NAME
from fairshare.funnel import (
    BREAKDOWN_COLUMNS,
    FUNNEL_COLUMNS,
    Funnel,
    results,
    size_band_labels,
)
from fairshare.intervals import rate_interval
from frame_rows import only_row


def test_tiny_funnel_stages_counts_rates_and_velocity(tiny_ws):
    fn = Funnel().fit(tiny_ws)
    stages = fn.stages()
    assert list(stages.columns) == FUNNEL_COLUMNS
    assert stages["stage"].tolist() == ["lead", "MQL", "SAL", "SQL", "opportunity", "closed_won"]
    # L1 goes all the way, L2 is rejected after MQL, L3 (SDR) skips to an opportunity: reached = this or later
    assert stages["entered"].tolist() == [3, 3, 2, 2, 2, 1]
    mql = only_row(stages, stage="MQL")
    assert mql["advanced"] == 2 and mql["rate"] == pytest.approx(2 / 3)
    assert mql["ci_low"] < 2 / 3 < mql["ci_high"]
    # velocity: lead → MQL took 5 minutes for L1 and L2; MQL → SAL 16h25m for L1
    assert only_row(stages, stage="lead")["median_days"] == pytest.approx(5 / 1440)
    assert mql["median_days"] == pytest.approx((16 * 60 + 25) / 1440)
    # opportunity → won: O1 won, O2 open, so 1 of 1 closed; O1 took 28 days
    opp = only_row(stages, stage="opportunity")
    assert (opp["entered"], opp["advanced"], opp["decided"]) == (2, 1, 1)
    assert opp["rate"] == 1.0 and opp["median_days"] == pytest.approx(28.0)


def test_tiny_breakdown_by_channel_and_rep(tiny_ws):
    b = Funnel().fit(tiny_ws).breakdown(["channel", "rep"])
    assert list(b.columns) == BREAKDOWN_COLUMNS
    web = only_row(b, dimension="channel", value="webinar", stage="lead")
    assert web["entered"] == 1 and web["advanced"] == 1
    search = only_row(b, dimension="channel", value="paid_search", stage="MQL")
    assert search["entered"] == 1 and search["advanced"] == 0 and search["rate"] == 0
    # the opportunity rows group by owner: R2 owns the won O1, R0 the open O2
    assert only_row(b, dimension="rep", value="R2", stage="opportunity")["rate"] == 1.0
    assert only_row(b, dimension="rep", value="R0", stage="opportunity")["decided"] == 0
    with pytest.raises(ValueError, match="unknown dimension"):
        Funnel().fit(tiny_ws).breakdown("colour")


def test_results_contract(tiny_ws):
    out = results(tiny_ws, {})
    assert {"funnel", "funnel_breakdown", "sla", "sla_breaches", "stuck_pipeline"} <= set(out)
    assert all(isinstance(v, pd.DataFrame) for v in out.values())
    assert set(out["funnel_breakdown"]["dimension"]) == {
        "channel", "campaign", "source_team", "industry", "size_band", "region", "rep",
    }  # fmt: skip


def test_rate_interval_bounds_and_width():
    low, high = rate_interval([0, 5, 10, 50], [10, 10, 10, 100])
    assert low[0] == 0 and high[2] == 1
    assert low[1] < 0.5 < high[1] and low[3] < 0.5 < high[3]
    assert (high[3] - low[3]) < (high[1] - low[1])  # more trials, narrower
    wide_low, wide_high = rate_interval([5], [10], level=0.99)
    assert wide_low[0] < low[1] and wide_high[0] > high[1]
    assert np.isnan(rate_interval([0], [0])[0][0])


def test_size_bands_from_the_definitions(tmp_path):
    assert [b[0] for b in size_band_labels([50, 200, 1000])] == ["1-49", "50-199", "200-999", "1000+"]
    assert size_band_labels([10]) == [("1-9", 0), ("10+", 10)]
    folder = tmp_path / "data"
    folder.mkdir()
    pd.DataFrame({"account_id": ["A1", "A2", "A3"], "employees": [5, 40, 700]}).to_csv(
        folder / "accounts.csv", index=False
    )
    pd.DataFrame({"lead_id": ["L1", "L2", "L3"], "account_id": ["A1", "A2", "A3"],
                  "created_at": ["2026-01-01T10:00:00Z"] * 3}).to_csv(folder / "leads.csv", index=False)  # fmt: skip
    # the required tables (import refuses a folder without them): one opportunity, one touch
    pd.DataFrame({"opportunity_id": ["O1"], "account_id": ["A1"], "created_at": ["2026-01-02T10:00:00Z"],
                  "amount": [1000.0]}).to_csv(folder / "opportunities.csv", index=False)  # fmt: skip
    pd.DataFrame({"touch_id": ["T1"], "at": ["2026-01-01T09:00:00Z"], "account_id": ["A1"],
                  "channel": ["email"]}).to_csv(folder / "touches.csv", index=False)  # fmt: skip
    ws = Workspace.init(tmp_path / "ws")
    ws.import_(folder)
    fn = Funnel().fit(ws)  # keep the funnel: its temporary fact tables live as long as it does
    default = fn.lead_facts().execute().set_index("lead_id")["size_band"]
    assert default.to_dict() == {"L1": "1-49", "L2": "1-49", "L3": "200-999"}
    ws.close()
    config = ws.path / CONFIG_NAME
    config.write_text(config.read_text().replace("size_bands = [50, 200, 1000]", "size_bands = [10, 500]"))
    ws = Workspace(ws.path)
    fn = Funnel().fit(ws)
    custom = fn.lead_facts().execute().set_index("lead_id")["size_band"]
    assert custom.to_dict() == {"L1": "1-9", "L2": "10-499", "L3": "500+"}
    ws.close()
