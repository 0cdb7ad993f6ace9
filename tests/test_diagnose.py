"""Diagnosis: each injected change is named as its cause; noise alone is 'no significant change'."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fairshare.diagnose import CAUSES, EVIDENCE_COLUMNS, RECOMMENDATION_COLUMNS, Diagnosis


def _company(seed: int, volume: float = 1.0, quality: float = 1.0, coverage: float = 1.0, conversion: float = 1.0,
             size: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Two quarters of leads and won deals; the second quarter's mechanism is scaled by the arguments."""
    rng = np.random.default_rng(seed)
    leads, deals = [], []
    for q, start in enumerate((pd.Timestamp("2025-04-01"), pd.Timestamp("2025-07-01"))):
        k = (volume, quality, coverage, conversion, size) if q else (1.0,) * 5
        n = rng.poisson(900 * k[0])
        p = np.clip(rng.beta(2, 12, n) * k[1], 0, 1)
        contacted = rng.uniform(size=n) < 0.8 * k[2]
        won = contacted & (rng.uniform(size=n) < np.clip(p * 1.25 * k[3], 0, 1))
        created = start + pd.to_timedelta(rng.uniform(0, 88, n), unit="D")
        leads.append(pd.DataFrame({"lead_id": [f"Q{q}L{i}" for i in range(n)], "created_at": created,
                                   "p_win_at_arrival": p, "expected_amount": 50_000.0, "contacted": contacted,
                                   "wait_hours": np.where(contacted, rng.uniform(1, 60, n), np.nan),
                                   "sla_hours": 24.0}))  # fmt: skip
        w = int(won.sum())
        deals.append(pd.DataFrame({"closed_at": start + pd.to_timedelta(rng.uniform(0, 88, w), unit="D"),
                                   "amount": rng.lognormal(np.log(50_000 * k[4]), 0.4, w)}))  # fmt: skip
    return pd.concat(leads, ignore_index=True), pd.concat(deals, ignore_index=True)


AS_OF = pd.Timestamp("2025-10-02")
SHOCKS = {
    "lead generation": {"volume": 0.5},
    "sales capacity": {"coverage": 0.5},
    "sales execution": {"conversion": 0.5},
    "deal size": {"size": 0.5},
}


@pytest.mark.parametrize("cause", list(SHOCKS))
def test_an_injected_change_is_named_as_the_primary_cause(cause):
    named = [Diagnosis(as_of=AS_OF, n_boot=200, random_state=s).fit(*_company(s, **SHOCKS[cause])).primary_cause_
             for s in range(3)]  # fmt: skip
    assert named == [cause] * 3


def test_noise_alone_is_no_significant_change_and_the_result_has_its_documented_shape():
    fits = [Diagnosis(as_of=AS_OF, n_boot=200, random_state=s).fit(*_company(100 + s)) for s in range(10)]
    assert sum(f.primary_cause_ == "no significant change" for f in fits) >= 9
    result = fits[0].result_
    assert result["period"] == "2025Q3" and result["previous_period"] == "2025Q2"
    assert result["primary_cause"] in CAUSES
    assert list(fits[0].evidence_.columns) == EVIDENCE_COLUMNS
    assert list(fits[0].recommendations_.columns) == RECOMMENDATION_COLUMNS
    json.dumps(result, default=str)  # one JSON object


def test_factor_effects_add_up_to_the_bookings_change_and_recommendations_are_ranked():
    model = Diagnosis(as_of=AS_OF, n_boot=100).fit(*_company(7, size=0.6))
    ev = model.evidence_.set_index("factor")
    assert ev.drop("bookings")["effect"].sum() == pytest.approx(ev.loc["bookings", "effect"], rel=1e-6)
    recs = model.recommendations_
    assert 1 <= len(recs) <= 5 and recs["rank"].tolist() == list(range(1, len(recs) + 1))
    assert recs["effect"].is_monotonic_decreasing and (recs["ci_low"] <= recs["ci_high"]).all()
    assert "deal size" in set(recs["cause"])


def test_diagnose_command_prints_one_json_object(sim_workspace):
    from fairshare.cli import app

    result = CliRunner().invoke(
        app, ["diagnose", "--format", "json", "--workspace", str(sim_workspace.workspace.path)]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"period", "primary_cause", "evidence", "recommendations"} <= set(out)
    assert out["primary_cause"] in CAUSES and {r["factor"] for r in out["evidence"]} >= {
        "lead_volume",
        "bookings",
    }


def test_vs_target_explains_the_gap_to_the_target_with_the_plan_as_the_previous_funnel():
    leads, deals = _company(3)
    plain = Diagnosis(as_of=AS_OF, n_boot=200).fit(leads, deals)
    previous = plain.result_["previous_bookings"]
    # a target twice last quarter's bookings: the plan grows lead volume, so the gap is lead generation
    model = Diagnosis(as_of=AS_OF, n_boot=200, vs="target", target=2 * previous).fit(leads, deals)
    assert model.result_["previous_period"] == "target" and model.result_["previous_bookings"] == 2 * previous
    assert model.primary_cause_ == "lead generation"
    ev = model.evidence_.set_index("factor")
    assert ev.loc["bookings", "ci_high"] < 0 and ev.loc["lead_volume", "previous"] == pytest.approx(
        2 * plain.evidence_.set_index("factor").loc["lead_volume", "previous"]
    )
    # a target equal to last quarter's bookings and half the coverage: the gap is capacity
    leads, deals = _company(4, coverage=0.5)
    previous = Diagnosis(as_of=AS_OF, n_boot=50).fit(leads, deals).result_["previous_bookings"]
    model = Diagnosis(as_of=AS_OF, n_boot=200, vs="target", target=previous).fit(leads, deals)
    assert model.primary_cause_ == "sales capacity"
    with pytest.raises(ValueError, match="target"):
        Diagnosis(vs="target").fit(leads, deals)


def test_diagnose_vs_target_reads_the_target_from_the_definitions(sim_workspace, tmp_path):
    import shutil

    from fairshare.cli import app

    folder = tmp_path / "ws"
    shutil.copytree(sim_workspace.workspace.path, folder)
    args = ["diagnose", "--vs", "target", "--format", "json", "--workspace", str(folder)]
    missing = CliRunner().invoke(app, args)
    assert missing.exit_code != 0 and "no bookings target" in missing.output
    previous = ["diagnose", "--format", "json", "--workspace", str(folder)]
    period = json.loads(CliRunner().invoke(app, previous).stdout)["period"]
    toml = folder / "fairshare.toml"
    toml.write_text(toml.read_text().replace("bookings = {}", f'bookings = {{ "{period}" = 5000000 }}'))
    out = json.loads(CliRunner().invoke(app, args).stdout)
    assert out["previous_period"] == "target" and out["previous_bookings"] == 5_000_000
    assert out["primary_cause"] in CAUSES


def test_a_simulated_deal_size_shock_is_named_and_its_replayed_effect_covered(tmp_path):
    """The benchmark (benchmarks/diagnose_check.py) on one company: 1,000 accounts, deal size -70% from
    2025-08-10. One seed only: at this size a quarter's bookings are noisy (docs/diagnose.md, power)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "diagnose_check", Path(__file__).resolve().parents[1] / "benchmarks" / "diagnose_check.py"
    )
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    check.SHOCKS["deal_size"] = (0.7, "deal size", "deal_size")
    row = check.check("deal_size", 1000, 501, tmp_path)
    assert row["named"] == "deal size"
    assert row["rec_low"] <= row["replayed_effect"] <= row["rec_high"]  # 0.37M <= 0.91M <= 1.21M
