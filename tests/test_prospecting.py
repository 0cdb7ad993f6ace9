"""Prospecting verdict: $ per rep-hour and per total $ by program, account-bootstrap intervals, honest verdict."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fairshare.prospecting import VERDICT_COLUMNS, ProspectingVerdict, verdict


def _units(revenue_b: float, n: int = 40, seed: int = 0) -> pd.DataFrame:
    """Program a: each account 2 h and $1,000 a win in half of them ($250 a rep-hour); b: 1 h each, revenue_b a win."""
    rng = np.random.default_rng(seed)
    a = pd.DataFrame({"unit": [f"a{i}" for i in range(n)], "program": "a", "hours": 2.0, "cost": 100.0,
                      "revenue": np.where(np.arange(n) % 2 == 0, 1000.0, 0.0), "leads": 1, "won": np.arange(n) % 2 == 0})  # fmt: skip
    b = pd.DataFrame({"unit": [f"b{i}" for i in range(n)], "program": "b", "hours": 1.0, "cost": 50.0,
                      "revenue": np.where(rng.uniform(size=n) < 0.5, revenue_b, 0.0), "leads": 1, "won": 1})  # fmt: skip
    return pd.concat([a, b], ignore_index=True).assign(won=lambda f: f["won"].astype(int))


def test_ratios_are_sums_over_accounts_and_media_counts_in_the_total_dollar():
    model = ProspectingVerdict(programs=("a", "b", "c"), replications=100).fit(_units(100.0), {"a": 4000.0})
    table = model.result_.set_index("program")
    assert list(model.result_.columns) == VERDICT_COLUMNS
    # a: 20 wins x $1,000 over 40 x 2 h = $250 a rep-hour; cost 40 x $100 + $4,000 media = $8,000: $2.50 per $
    assert table.loc["a", "revenue_per_rep_hour"] == pytest.approx(250.0)
    assert table.loc["a", "revenue_per_dollar"] == pytest.approx(20_000 / 8_000)
    assert table.loc["a", "cost"] == pytest.approx(8_000.0) and table.loc["a", "accounts"] == 40
    assert table.loc["a", "per_hour_ci_low"] < 250.0 < table.loc["a", "per_hour_ci_high"]
    assert np.isnan(table.loc["c", "revenue_per_rep_hour"])  # a program without hours is not measurable
    # b earns at most $100 a win on 1 h: far below a, so a wins clearly per rep-hour
    assert table.loc["a", "p_best_per_hour"] == 1.0
    assert model.verdict_.startswith("Won revenue per rep-hour: a $250 [")
    assert "is best, clear of the next, b" in model.verdict_


def test_the_verdict_says_no_clear_winner_when_intervals_overlap():
    close = ProspectingVerdict(replications=100).fit(
        _units(260.0)
    )  # b: about $130 a win-hour ... vs a's $250
    even = ProspectingVerdict(replications=100).fit(_units(500.0))  # b: about $250 a rep-hour, like a
    assert "per rep-hour: no clear winner" in even.verdict_
    assert verdict(even.result_) == even.verdict_  # the stored table gives the same line
    assert "is best" in close.verdict_ or "no clear winner" in close.verdict_
    with pytest.raises(ValueError, match="lack columns"):
        ProspectingVerdict().fit(pd.DataFrame({"unit": ["x"]}))


@pytest.fixture(scope="module")
def prospecting_world(tmp_path_factory):
    """600 accounts with busy SDR prospecting (30 attempts a day, about 1 lead per 100): cold calls cost
    hours that marketing leads do not, and events are prospected exactly like cold calls (same yield
    and durations in the simulator), so marketing leads are best per rep-hour and cold calls and
    events are equal in truth."""
    from fairshare import Workspace
    from fairshare.simulate import SimulationConfig, simulate

    root = tmp_path_factory.mktemp("prospecting")
    simulate(SimulationConfig(accounts=600, sdr_prospects_per_day=30.0), seed=5).write(
        root / "c", format="parquet"
    )
    ws = Workspace.init(root / "w")
    ws.import_(root / "c")
    ws.close()
    return root / "w"


def test_on_a_simulated_world_marketing_leads_win_per_hour_and_equal_programs_tie(prospecting_world):
    from fairshare import Workspace
    from fairshare.cli import app
    from fairshare.prospecting import prospecting_verdict

    ws = Workspace(prospecting_world, read_only=True)
    try:
        model = prospecting_verdict(ws)
    finally:
        ws.close()
    table = model.result_.set_index("program")
    assert list(table.index) == ["cold_call", "referral", "event", "marketing"]  # [economics] programs
    assert table.loc["marketing", "per_hour_ci_low"] > table.loc["cold_call", "per_hour_ci_high"]
    assert table.loc["marketing", "media_spend"] > 0 and (table.drop("marketing")["media_spend"] == 0).all()
    tie = ProspectingVerdict(programs=("cold_call", "event"))
    result = CliRunner().invoke(
        app, ["prospecting", "--refit", "--format", "json", "--workspace", str(prospecting_world)]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["verdict"] == model.verdict_ and len(out["rows"]) == 4
    rows = pd.DataFrame(out["rows"])
    equal = verdict(rows[rows["program"].isin(["cold_call", "event"])])
    assert "per rep-hour: no clear winner" in equal  # equal in truth: the verdict names no winner
    assert tie.get_params()["programs"] == ("cold_call", "event")
