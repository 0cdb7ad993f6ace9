"""The scorecard: bookings reconcile to the cent, period over period, definitions from fairshare.toml,
auditable SQL, upstream model results, and the Maven CRM sample's published figures."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairshare import Workspace
from fairshare.config import CONFIG_NAME
from fairshare.periods import period_bounds
from fairshare.scorecard import SCORECARD_COLUMNS, Scorecard, results

ROOT = Path(__file__).parents[1]
TINY = ROOT / "examples" / "tiny"


def _won_sum(ws: Workspace, start: dt.datetime | None = None, end: dt.datetime | None = None) -> float:
    sql = "SELECT coalesce(sum(amount), 0) FROM opportunities WHERE is_won"
    if start is not None:
        sql += f" AND closed_at >= TIMESTAMP '{start}' AND closed_at < TIMESTAMP '{end}'"
    return float(ws.con.con.execute(sql).fetchone()[0])


def test_period_bounds():
    at = dt.datetime(2025, 11, 14, 8, 0)
    assert period_bounds(at, "quarter") == (
        dt.datetime(2025, 7, 1),
        dt.datetime(2025, 10, 1),
        dt.datetime(2026, 1, 1),
    )
    assert period_bounds(at, "month") == (
        dt.datetime(2025, 10, 1),
        dt.datetime(2025, 11, 1),
        dt.datetime(2025, 12, 1),
    )
    assert period_bounds(dt.datetime(2025, 1, 3), "quarter")[0] == dt.datetime(2024, 10, 1)
    assert period_bounds(at, "year") == (
        dt.datetime(2024, 1, 1),
        dt.datetime(2025, 1, 1),
        dt.datetime(2026, 1, 1),
    )


def test_bookings_reconcile_to_the_cent(sim_workspace, tiny_ws):
    for ws in (tiny_ws, sim_workspace.workspace):
        whole = Scorecard(period="all", with_sql=False).fit(ws).result_.set_index("kpi")
        assert round(whole.loc["bookings", "value"], 2) == round(_won_sum(ws), 2)
    card = Scorecard(with_sql=False).fit(sim_workspace.workspace)
    table = card.table().set_index("kpi")
    prev, cur, end = card.bounds_
    assert round(table.loc["bookings", "value"], 2) == round(_won_sum(sim_workspace.workspace, cur, end), 2)
    assert round(table.loc["bookings", "previous_value"], 2) == round(
        _won_sum(sim_workspace.workspace, prev, cur), 2
    )
    assert table.loc["bookings", "change"] == pytest.approx(
        table.loc["bookings", "value"] - table.loc["bookings", "previous_value"]
    )
    assert (
        table.loc["bookings", "period"] == "2025-Q4" and table.loc["bookings", "previous_period"] == "2025-Q3"
    )


def test_columns_and_kpis(sim_workspace):
    table = results(sim_workspace.workspace, {})["scorecard"]
    assert list(table.columns) == SCORECARD_COLUMNS
    kpis = set(table["kpi"])
    expected = {
        "bookings", "pipeline_created", "marketing_influenced_revenue", "marketing_influenced_opportunities",
        "sourced_revenue.marketing", "sourced_revenue.sdr", "incremental_revenue.marketing", "win_rate",
        "conversion.MQL_to_SAL", "speed_to_lead_hours", "never_contacted_share", "sla.first_contact",
        "sla.mql_decision", "cac", "roi", "marketing_roi.sourced", "marketing_roi.incremental",
        "marketing_roi.attributed",
    }  # fmt: skip
    assert expected <= kpis
    assert table["kpi"].is_unique and table["definition"].str.len().gt(10).all()
    rows = table.set_index("kpi")
    # sourced revenue by team adds up to bookings; influenced revenue is part of bookings
    teams = rows.loc[[k for k in kpis if k.startswith("sourced_revenue.")], "value"].sum()
    assert teams == pytest.approx(rows.loc["bookings", "value"])
    assert rows.loc["marketing_influenced_revenue", "value"] <= rows.loc["bookings", "value"] + 1e-6
    cost = rows.loc["media_spend", "value"] + rows.loc["sales_time_cost", "value"]
    assert rows.loc["cost", "value"] == pytest.approx(cost)
    assert rows.loc["roi", "value"] == pytest.approx((rows.loc["bookings", "value"] - cost) / cost)
    shares = rows[rows["unit"] == "share"]
    ok = shares["value"].notna()
    assert (
        (shares.loc[ok, "ci_low"] <= shares.loc[ok, "value"])
        & (shares.loc[ok, "value"] <= shares.loc[ok, "ci_high"])
    ).all()
    assert np.isnan(rows.loc["incremental_revenue.marketing", "value"])
    assert "no contribution" in rows.loc["incremental_revenue.marketing", "note"]
    # the median speed to lead carries an order-statistic interval from this period's leads
    speed = rows.loc["speed_to_lead_hours"]
    assert speed["ci_low"] < speed["value"] < speed["ci_high"]
    from fairshare.intervals import median_interval

    card = Scorecard(with_sql=False).fit(sim_workspace.workspace)
    card.table()
    hours = card._data["contact_hours"]
    current = hours.loc[hours["period"] == "current", "x"]
    assert speed["value"] == pytest.approx(np.median(current))
    assert (speed["ci_low"], speed["ci_high"]) == pytest.approx(median_interval(current))


def test_source_sql_reproduces_the_value(tiny_ws, sim_workspace):
    for ws in (tiny_ws, sim_workspace.workspace):
        table = Scorecard().fit(ws).result_.set_index("kpi")
        for kpi, column in (("bookings", "bookings"), ("never_contacted_share", "never"),
                            ("pipeline_created", "pipeline")):  # fmt: skip
            sql = table.loc[kpi, "source"]
            assert sql.startswith("WITH") and "_fairshare_tmp" not in sql
            frame = ws.con.con.execute(sql).df()
            current = frame[frame["period"] == "current"]
            assert len(current) == 1
            if kpi == "never_contacted_share":
                value = current["never"].iloc[0] / current["judged"].iloc[0]
            else:
                value = current[column].iloc[0]
            assert value == pytest.approx(table.loc[kpi, "value"])
        for sql in set(table["source"]):  # every KPI query runs as printed
            if sql.startswith("WITH"):
                assert "period" in ws.con.con.execute(sql).df().columns


def test_definitions_come_from_the_toml(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    toml = ws.path / CONFIG_NAME
    toml.write_text(toml.read_text().replace("first_contact_hours = 24", "first_contact_hours = 60"))
    ws = Workspace(ws.path)
    ws.import_(TINY)
    strict = Workspace.init(tmp_path / "strict")
    strict.import_(TINY)
    loose = Scorecard(period="all", with_sql=False).fit(ws).result_.set_index("kpi")
    tight = Scorecard(period="all", with_sql=False).fit(strict).result_.set_index("kpi")
    assert "60 hours" in loose.loc["sla.first_contact", "definition"]
    assert "24 hours" in tight.loc["sla.first_contact", "definition"]
    assert loose.loc["sla.first_contact", "value"] == 1.0  # L2's 53 hours is within 60
    assert tight.loc["sla.first_contact", "value"] == 0.5
    ws.close()
    strict.close()


def test_upstream_results_fill_incremental_and_attributed_rows(tiny_ws):
    contribution = pd.DataFrame({"unit": ["marketing", "sdr", "channel"], "key": ["all", "all", "webinar"],
                                 "estimate": [30000.0, 9000.0, 1.0], "ci_low": [10000.0, -2000.0, 0.0],
                                 "ci_high": [50000.0, 20000.0, 2.0]})  # fmt: skip
    attribution = pd.DataFrame({"model": ["markov", "markov"], "by": ["team", "team"], "key": ["marketing", "AE"],
                                "revenue": [20000.0, 28000.0]})  # fmt: skip
    card = Scorecard(period="all", with_sql=False).fit(tiny_ws, upstream={"contribution": contribution, "attribution": attribution})  # fmt: skip
    rows = card.table().set_index("kpi")
    inc = rows.loc["incremental_revenue.marketing"]
    assert (inc["value"], inc["ci_low"], inc["ci_high"]) == (30000.0, 10000.0, 50000.0)
    assert rows.loc["incremental_revenue.sdr", "ci_low"] == -2000.0
    assert np.isnan(rows.loc["incremental_revenue.ae", "value"])
    marketing_cost = card.economics_.table("source").set_index("key").loc["marketing", "cost"]
    assert rows.loc["marketing_roi.incremental", "value"] == pytest.approx(
        (30000 - marketing_cost) / marketing_cost
    )
    assert rows.loc["marketing_roi.attributed", "value"] == pytest.approx(
        (20000 - marketing_cost) / marketing_cost
    )


def test_contribution_rows_keep_their_period_and_say_not_identified_or_assumption(tiny_ws):
    from fairshare.web.kpis import kpi_cards

    period = "all history 2025-01-01..2025-12-31"
    contribution = pd.DataFrame({"unit": ["marketing", "sdr", "ae"], "key": ["all", "all", "all"],
                                 "estimate": [np.nan, 9000.0, 40000.0], "ci_low": [0.0, 1000.0, 35000.0],
                                 "ci_high": [60000.0, 20000.0, 47000.0], "identified": [False, True, False],
                                 "method": ["not_identified", "panel_dml", "assumption"], "period": period,
                                 "proposal": ["randomized holdout: 20% of accounts with all paid marketing off", "", ""],
                                 "assumptions": ["", "", "assumption, not estimated: self-serve baseline"]})  # fmt: skip
    card = Scorecard(period="quarter", with_sql=False).fit(tiny_ws, upstream={"contribution": contribution})
    table = card.result_
    rows = table.set_index("kpi")
    # whole-history numbers name their own period, never the scorecard's quarter
    assert card.current_label_ != period
    assert (
        rows.loc[[f"incremental_revenue.{t}" for t in ("marketing", "sdr", "ae")], "period"] == period
    ).all()
    marketing = rows.loc["incremental_revenue.marketing"]
    assert np.isnan(marketing["value"]) and (marketing["ci_low"], marketing["ci_high"]) == (0.0, 60000.0)
    assert marketing["note"].startswith("not identified") and "holdout" in marketing["note"]
    assert rows.loc["incremental_revenue.ae", "note"].startswith("assumption")
    assert (
        rows.loc["incremental_revenue.sdr", "value"] == 9000.0
        and rows.loc["incremental_revenue.sdr", "note"] == ""
    )
    cards = {c["label"]: c for c in kpi_cards(table)}
    assert cards["Incremental revenue: marketing"]["value"] == "not identified"
    assert cards["Incremental revenue: ae"]["flag"].startswith("assumption")
    assert cards["Incremental revenue: sdr"]["period"] == period


def _maven_module():
    spec = importlib.util.spec_from_file_location(
        "maven_to_canonical", ROOT / "examples" / "maven" / "to_canonical.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_maven_crm_sample_matches_its_source_figures(tmp_path, reference_data):
    """SOURCE.md: win rate 63.15% among closed deals, won revenue $10,005,534, median engage-to-close
    57 days for won deals, agent win rates from 55.0% (Lajuana Vencill) to 70.4% (Hayden Neloms)."""
    from fairshare.funnel import Funnel

    maven = _maven_module()
    folder = maven.write(maven.to_canonical(reference_data("maven_crm_sales")), tmp_path / "canonical")
    ws = Workspace.init(tmp_path / "ws")
    ws.import_(folder)
    card = Scorecard(period="all", with_sql=False).fit(ws).result_.set_index("kpi")
    assert card.loc["bookings", "value"] == 10_005_534
    assert round(card.loc["win_rate", "value"] * 100, 2) == 63.15
    funnel = Funnel().fit(ws)
    opp = funnel.stages().set_index("stage").loc["opportunity"]
    assert round(opp["rate"], 4) == 0.6315 and opp["median_days"] == 57
    reps = funnel.breakdown("rep")
    rates = reps[reps["stage"] == "opportunity"].set_index("value")["rate"]
    assert round(rates["lajuana-vencill"], 3) == 0.550 and round(rates.max(), 3) == 0.704
    assert rates.idxmax() == "hayden-neloms"
    ws.close()


def test_cli_json_keys_are_the_documented_columns(tmp_path):
    import json

    from typer.testing import CliRunner

    import fairshare.cli.funnel  # noqa: F401  (registers funnel, economics, scorecard)
    from fairshare.cli import app
    from fairshare.economics import ECONOMICS_COLUMNS, PROSPECTING_COLUMNS
    from fairshare.funnel import BREAKDOWN_COLUMNS, FUNNEL_COLUMNS
    from fairshare.funnel.sla import BREACH_COLUMNS, SLA_COLUMNS

    ws = Workspace.init(tmp_path / "ws")
    ws.import_(TINY)
    ws.close()
    runner = CliRunner()

    def rows(*args: str):
        result = runner.invoke(app, [*args, "--workspace", str(ws.path), "--format", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert list(rows("funnel")[0]) == FUNNEL_COLUMNS
    assert list(rows("funnel", "--by", "segment")[0]) == BREAKDOWN_COLUMNS
    assert list(rows("funnel", "--sla")[0]) == SLA_COLUMNS
    breaches = rows("funnel", "--breaches")
    assert list(breaches[0]) == BREACH_COLUMNS and len(breaches) == 2
    assert list(rows("economics", "--by", "campaign")[0]) == ECONOMICS_COLUMNS
    assert list(rows("economics", "--prospecting")[0]) == PROSPECTING_COLUMNS
    card = rows("scorecard", "--period", "all")
    assert list(card) == ["as_of", "period", "previous_period", "currency", "kpis"]
    assert list(card["kpis"][0]) == SCORECARD_COLUMNS
    bookings = next(k for k in card["kpis"] if k["kpi"] == "bookings")
    assert bookings["value"] == 48000 and bookings["previous_value"] is None
    csv = runner.invoke(app, ["scorecard", "--workspace", str(ws.path), "--format", "csv"])
    assert csv.exit_code == 0 and csv.stdout.splitlines()[0] == ",".join(SCORECARD_COLUMNS)
    table = runner.invoke(app, ["funnel", "--by", "colour", "--workspace", str(ws.path)])
    assert table.exit_code != 0


def test_kpis_doc_lists_every_column_and_kpi(tiny_ws):
    from fairshare import economics, funnel
    from fairshare.funnel import sla

    text = (ROOT / "docs" / "kpis.md").read_text()
    columns = [
        *funnel.FUNNEL_COLUMNS, *sla.SLA_COLUMNS, *sla.BREACH_COLUMNS, *sla.STUCK_COLUMNS,
        *sla.SPEED_COLUMNS, *economics.ECONOMICS_COLUMNS, *economics.PROSPECTING_COLUMNS, *SCORECARD_COLUMNS,
    ]  # fmt: skip
    missing = [c for c in columns if f"`{c}`" not in text]
    assert not missing, f"docs/kpis.md does not document {missing}"
    kpis = Scorecard(period="all", with_sql=False).fit(tiny_ws).result_["kpi"]
    undocumented = []
    for kpi in kpis:
        stem, _, leaf = kpi.partition(".")
        if kpi.startswith("conversion."):
            ok = f"`{leaf}`" in text
        else:
            ok = f"`{kpi}`" in text or (leaf and f"`{stem}.{leaf}`" in text) or f"`.{leaf}`" in text
        if not ok:
            undocumented.append(kpi)
    assert not undocumented, f"docs/kpis.md does not list {undocumented}"


def test_cost_kpis_are_unknown_not_zero_without_spend(tmp_path):
    import shutil

    folder = tmp_path / "nospend"
    shutil.copytree(Path(__file__).resolve().parents[1] / "examples" / "tiny", folder)
    (folder / "spend.csv").unlink()
    with Workspace.init(tmp_path / "ws") as ws:
        ws.import_(folder)
        card = Scorecard(period="all").fit(ws).result_.set_index("kpi")
    assert card.loc["bookings", "value"] == 48000.0
    assert np.isnan(card.loc["cac", "value"]) and np.isnan(card.loc["roi", "value"])
    # the derived rows carry their good direction too: a rising CAC is bad, a rising ROI good, cost neither
    assert card.loc[["cac", "roi", "cost"], "better"].tolist() == ["lower", "higher", "neutral"]
