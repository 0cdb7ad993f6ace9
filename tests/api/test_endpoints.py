"""Every /api endpoint: 200 with a token, 401 without, 422 on bad parameters; content checks."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from fairshare import Workspace
from fairshare.api import create_app
from fairshare.api.auth import TOKEN_ENV, Tokens
from sample_results import sample_tables

ENDPOINTS = [
    "/api/status",
    "/api/scorecard",
    "/api/funnel",
    "/api/attribution",
    "/api/attribution?model=markov&by=channel",
    "/api/contribution",
    "/api/leads",
    "/api/leads?limit=500&offset=10&sort=value_per_hour",
    "/api/leads/L00003",
    "/api/reps",
    "/api/economics",
    "/api/validation",
    "/api/forecast",
    "/api/queue",
    "/api/queue?rep=R12&limit=3",
    "/api/notes",
]

BAD = [
    "/api/leads?limit=501",
    "/api/leads?limit=0",
    "/api/leads?offset=-1",
    "/api/leads?sort=amount",
    "/api/leads?sort=value;drop table leads",
    "/api/attribution?model=nonsense",
    "/api/attribution?by=rep_id%20or%201=1",
    "/api/funnel?limit=100000",
    "/api/queue?limit=501",
]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_endpoint_with_token(client, auth, url):
    r = client.get(url, headers=auth)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("url", ENDPOINTS)
def test_endpoint_without_or_with_wrong_token(client, token, url):
    client.app.state.throttle.reset()  # 20 endpoints x one wrong token would trip the throttle
    assert client.get(url).status_code == 401
    r = client.get(url, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert client.get(url, headers={"Authorization": f"Basic {token}"}).status_code == 401


@pytest.mark.parametrize("url", BAD)
def test_bad_parameters_are_422(client, auth, url):
    assert client.get(url, headers=auth).status_code == 422


def test_status_reports_the_run_and_inputs(client, auth):
    body = client.get("/api/status", headers=auth).json()
    assert body["run"]["run_id"] == 1
    assert body["run"]["tables"]["leads"] == 2000
    assert body["inputs"] == {"accounts": 300, "leads": 2000}
    assert {row["area"] for row in body["log"]} == {"funnel", "attribution"}


def test_scorecard_is_one_object_with_kpis(client, auth):
    body = client.get("/api/scorecard", headers=auth).json()
    assert body["currency"] == "USD"
    kpis = {k["kpi"]: k for k in body["kpis"]}
    assert kpis["bookings"]["value"] == 3.2e6
    assert kpis["incremental_marketing"]["ci_low"] == 6.3e5
    assert kpis["bookings"]["ci_low"] is None  # NaN becomes null


def test_leads_are_sorted_descending_and_paged(client, auth):
    expected = sample_tables()["leads"].sort_values("value_per_hour", ascending=False, kind="stable")
    first = client.get("/api/leads?limit=100&sort=value_per_hour", headers=auth).json()
    second = client.get("/api/leads?limit=100&offset=100&sort=value_per_hour", headers=auth).json()
    ids = [x["lead_id"] for x in first["items"] + second["items"]]
    assert ids == expected["lead_id"].head(200).tolist()
    assert first["total"] == 2000 and second["offset"] == 100
    assert "reasons" not in first["items"][0]
    past_end = client.get("/api/leads?offset=5000", headers=auth).json()
    assert past_end["items"] == [] and past_end["total"] == 2000


def test_one_lead_has_reasons_and_unknown_is_404(client, auth):
    body = client.get("/api/leads/L00003", headers=auth).json()
    assert body["reasons"] == ["large account (500+ employees)", "3 webinar visits"]
    assert body["value"] == pytest.approx(sample_tables()["leads"].loc[3, "value"])
    assert client.get("/api/leads/NOPE", headers=auth).status_code == 404


def test_attribution_filters_by_model(client, auth):
    body = client.get("/api/attribution?model=markov", headers=auth).json()
    assert {r["model"] for r in body["rows"]} == {"markov"}
    assert len(body["rows"]) == 6
    assert "shapley" in body["models"] and body["by"] == ["channel"]
    assert sum(r["share"] for r in body["rows"]) == pytest.approx(1.0)


def test_funnel_limits_breach_lists_but_reports_totals(client, auth):
    body = client.get("/api/funnel?limit=10", headers=auth).json()
    assert len(body["sla_breaches"]) == 10 and body["sla_breaches_total"] == 300
    assert body["stuck_pipeline_total"] == 40
    assert [s["stage"] for s in body["funnel"]][:2] == ["lead", "MQL"]
    assert body["speed_to_lead"][0]["never_contacted_share"] == 0.36


def test_contribution_reps_economics_validation_content(client, auth):
    contribution = client.get("/api/contribution", headers=auth).json()
    assert {r["key"] for r in contribution["rows"]} >= {"marketing", "sdr", "ae"}
    sdr = next(r for r in contribution["rows"] if r["key"] == "sdr")
    assert sdr["identified"] is True and sdr["period"].startswith("all history")
    assert sdr["strategies"][0]["name"] == "panel_dml" and sdr["strategies"][0]["identified"] is True
    reps = client.get("/api/reps", headers=auth).json()["rows"]
    assert len(reps) == 20 and all(r["ci_low"] <= r["ability"] <= r["ci_high"] for r in reps)
    econ = client.get("/api/economics", headers=auth).json()
    assert len(econ["economics"]) == 6 and econ["prospecting"][1]["program"] == "referral"
    validation = client.get("/api/validation", headers=auth).json()["rows"]
    assert [v["passed"] for v in validation] == [True, None, True, True]


def test_before_any_run(tmp_path):
    ws = Workspace.init(tmp_path / "empty")
    with TestClient(create_app(ws.path, tokens=["t"])) as c:
        h = {"Authorization": "Bearer t"}
        assert c.get("/api/status", headers=h).json()["run"] is None
        r = c.get("/api/scorecard", headers=h)
        assert r.status_code == 503 and "fairshare run" in r.json()["detail"]


def test_new_run_is_picked_up_without_restart(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    tables = sample_tables(n_leads=50)
    ws.save_results(tables)
    with TestClient(create_app(ws.path, tokens=["t"])) as c:
        h = {"Authorization": "Bearer t"}
        assert c.get("/api/scorecard", headers=h).json()["run_id"] == 1
        reader = c.app.state.reader
        c.get("/api/scorecard", headers=h)
        assert reader.loads == 1  # cached between requests
        tables["scorecard"] = tables["scorecard"].assign(value=1.0)
        ws.save_results(tables)
        body = c.get("/api/scorecard", headers=h).json()
        assert body["run_id"] == 2 and {k["value"] for k in body["kpis"]} == {1.0}
        assert reader.loads == 2
    ws.close()


def test_server_never_holds_the_warehouse(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    ws.save_results(sample_tables(n_leads=20))
    ws.close()
    with TestClient(create_app(ws.path, tokens=["t"])) as c:
        assert c.get("/api/leads", headers={"Authorization": "Bearer t"}).status_code == 200
        # another process can open the warehouse for writing while the server runs
        code = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); c.execute('create table probe (x int)')"
        subprocess.run(
            [sys.executable, "-c", code, str(ws.path / "fairshare.duckdb")], check=True, timeout=60
        )


def test_tokens_from_definitions_and_environment(tmp_path, monkeypatch):
    ws = Workspace.init(tmp_path / "ws")
    config = ws.path / "fairshare.toml"
    config.write_text(config.read_text().replace("tokens = []", 'tokens = ["from-toml-0123456789"]'))
    ws.save_results({"scorecard": pd.DataFrame({"kpi": ["x"], "value": [1.0]})})
    monkeypatch.setenv(TOKEN_ENV, "from-env-0123456789")
    with TestClient(create_app(ws.path)) as c:
        for token in ("from-toml-0123456789", "from-env-0123456789"):
            assert c.get("/api/scorecard", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert c.get("/api/scorecard", headers={"Authorization": "Bearer from-toml"}).status_code == 401
    monkeypatch.delenv(TOKEN_ENV)
    with TestClient(create_app(ws.path, tokens=[])) as c:  # no token configured: nothing is readable
        assert c.get("/api/scorecard", headers={"Authorization": "Bearer "}).status_code == 401
    ws.close()


def test_token_comparison():
    tokens = Tokens(["abc", "", "def"])
    assert tokens.valid("abc") and tokens.valid("def")
    assert not tokens.valid("ab") and not tokens.valid("") and not tokens.valid(None)
    assert not tokens.valid("abcd") and not Tokens([]).valid("abc")


def test_forecast_rows_carry_the_percentiles_and_commit(client, auth):
    rows = {r["rep_id"]: r for r in client.get("/api/forecast", headers=auth).json()["rows"]}
    assert rows["R1"]["p10"] < rows["R1"]["p50"] < rows["R1"]["p90"]
    assert rows["all"]["commit"] == 4.0e5 and rows["R2"]["commit_percentile"] == 0.3


def test_queue_is_each_reps_open_leads_by_value_per_hour(client, auth):
    rows = client.get("/api/queue?rep=R13&limit=4", headers=auth).json()["rows"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4] and {r["rep_id"] for r in rows} == {"R13"}
    plain = [r["value_per_hour"] for r in rows if not r["urgent"]]
    assert plain == sorted(plain, reverse=True)  # after the SLA-urgent leads, most $ per hour first
    every = client.get("/api/queue", headers=auth).json()["rows"]
    assert len({r["rep_id"] for r in every}) == 8
