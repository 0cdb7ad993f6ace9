"""One number, one source: the CLI, the JSON API, the dashboard and the report show the figures of the
same stored run, page by page (`fairshare reps` once refitted and printed SDR expected revenue 0 where
the API and dashboard showed 1,014,905)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fairshare.api import create_app
from fairshare.web.charts import format_cell
from fairshare.web.sections import PAGES

pytestmark = pytest.mark.slow

TOKEN = "one-source-token-0123"
#: page → (stored table shown as the page's table, API endpoint, key of its rows)
SOURCES = {
    "scorecard": ("scorecard", "/api/scorecard", "kpis"),
    "funnel": ("funnel", "/api/funnel", "funnel"),
    "attribution": ("attribution_sourced", "/api/attribution", "sourced"),
    "contribution": ("contribution", "/api/contribution", "rows"),
    "leads": ("leads", "/api/leads?limit=50&sort=value", "items"),
    "reps": ("reps", "/api/reps", "rows"),
    "economics": ("economics", "/api/economics", "economics"),
    "validation": ("validation", "/api/validation", "rows"),
    "forecast": ("forecast", "/api/forecast", "rows"),
    "queue": ("queue", "/api/queue?limit=50", "rows"),
    "notes": ("note_themes", "/api/notes", "themes"),
}


@pytest.fixture(scope="module")
def surfaces(ran_workspace, tmp_path_factory):
    from fairshare.web.report import write_report

    report = write_report(ran_workspace.path, tmp_path_factory.mktemp("report") / "report.html").read_text()
    with TestClient(create_app(ran_workspace.path, tokens=[TOKEN])) as c:
        assert c.post("/login", data={"token": TOKEN}, follow_redirects=False).status_code == 303
        pages = {p.slug: c.get("/" if p.slug == "scorecard" else f"/{p.slug}").text for p in PAGES}
        api = {slug: c.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).json()[key]
               for slug, (_, url, key) in SOURCES.items()}  # fmt: skip
    return {"report": report, "pages": pages, "api": api}


def _stored(ws, slug: str) -> pd.DataFrame:
    frame = ws.result(SOURCES[slug][0])
    if slug == "leads":
        frame = frame.sort_values("value", ascending=False, kind="stable").head(50)
    if slug == "queue":
        frame = frame[frame["rank"] <= 50]
    return frame.reset_index(drop=True)


def _shown(ws, slug: str, stored: pd.DataFrame) -> pd.DataFrame:
    """The rows and columns of the stored table that the page (and the report) print, as the section builders pick them."""
    from fairshare.web.sections import QUEUE_SHOWN, _contribution_views

    if slug == "contribution":
        return _contribution_views(stored)[0].head(50)
    if slug == "leads":  # the page lists the open leads of the work queue by value per hour
        return ws.result("queue").sort_values("value_per_hour", ascending=False).head(50)
    if slug == "queue":
        queue = ws.result("queue")
        return pd.concat([queue[queue["rep_id"] == rep].sort_values("rank").reindex(columns=QUEUE_SHOWN).head(15)
                          for rep in sorted(queue["rep_id"].dropna().unique())])  # fmt: skip
    if slug == "forecast":
        return stored.head(100)
    if slug == "notes":  # the page's theme table (no example notes: those are for signed-in API users)
        from fairshare.web.sections import NOTE_THEME_SHOWN

        return stored.reindex(columns=NOTE_THEME_SHOWN).head(50)
    return stored.head(50 if slug not in ("reps", "validation", "scorecard") else 200)


def _numbers(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]


@pytest.mark.parametrize("slug", [p.slug for p in PAGES])
def test_api_dashboard_and_report_show_the_stored_figures(ran_workspace, surfaces, slug):
    assert slug in SOURCES, f"page {slug} has no figures compared here"
    stored = _stored(ran_workspace, slug)
    api = pd.DataFrame(surfaces["api"][slug])
    assert len(api) == len(stored), slug
    for col in _numbers(stored):
        for mine, theirs in zip(stored[col], api[col], strict=True):
            assert (mine is None or math.isnan(mine)) == (theirs is None or pd.isna(theirs)), (slug, col)
            if theirs is not None and not pd.isna(theirs):
                assert theirs == pytest.approx(mine, rel=1e-9, abs=1e-9), (slug, col)
    shown = _shown(ran_workspace, slug, stored)
    cells = {format_cell(v) for c in _numbers(shown) for v in shown[c]} - {""}
    for surface in (surfaces["pages"][slug], surfaces["report"]):
        missing = sorted(c for c in cells if f">{c}<" not in surface)
        assert missing == [], (slug, missing[:5])


def test_cli_reps_prints_the_stored_figures_sdr_expected_revenue_included(ran_workspace, surfaces):
    from fairshare.cli import app

    result = CliRunner().invoke(app, ["reps", "--format", "json", "--workspace", str(ran_workspace.path)])
    assert result.exit_code == 0, result.output
    cli = pd.DataFrame(json.loads(result.stdout))
    api = pd.DataFrame(surfaces["api"]["reps"])
    stored = ran_workspace.result("reps")
    for frame in (cli, api):
        assert frame["rep_id"].tolist() == stored["rep_id"].tolist()
        for col in ("expected_revenue", "revenue", "ability", "expected_wins"):
            assert frame[col].astype(float).fillna(-1).tolist() == pytest.approx(
                stored[col].fillna(-1).tolist()
            )
    sdr = cli[cli["team"] == "SDR"]["expected_revenue"].astype(float).sum()
    assert sdr > 0  # refitting without the run's lead values gave 0 here


#: CLI command → (API page whose rows it prints, columns that identify a row)
CLI_SOURCES = {
    ("scorecard",): ("scorecard", ["kpi", "period"]),
    ("funnel",): ("funnel", ["stage"]),
    ("economics", "--by", "channel"): ("economics", ["dimension", "key"]),
}


@pytest.mark.parametrize("command", list(CLI_SOURCES), ids=lambda c: c[0])
def test_cli_result_commands_print_the_stored_figures(ran_workspace, surfaces, command):
    """`scorecard`, `funnel` and `economics` read the run the API shows instead of fitting again."""
    from fairshare.cli import app

    page, keys = CLI_SOURCES[command]
    result = CliRunner().invoke(app, [*command, "--format", "json", "--workspace", str(ran_workspace.path)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    cli = pd.DataFrame(printed["kpis"] if page == "scorecard" else printed)
    api = pd.DataFrame(surfaces["api"][page])
    if page == "economics":
        api = api[api["dimension"] == "channel"]
    assert len(cli) == len(api) > 0
    merged = cli.merge(api, on=keys, suffixes=("_cli", "_api"), validate="one_to_one")
    assert len(merged) == len(api)
    for col in _numbers(api.drop(columns=keys, errors="ignore")):
        mine, theirs = merged[f"{col}_cli"].astype(float), merged[f"{col}_api"].astype(float)
        assert mine.isna().tolist() == theirs.isna().tolist(), (page, col)
        assert mine.fillna(0).tolist() == pytest.approx(theirs.fillna(0).tolist(), rel=1e-9, abs=1e-9), (
            page,
            col,
        )


def test_cli_fits_again_when_the_options_differ_from_the_run(ran_workspace):
    """Another --level is not the stored run's: the CLI says it fits now (and still answers)."""
    from fairshare.cli import app

    result = CliRunner().invoke(app, ["funnel", "--level", "0.8", "--workspace", str(ran_workspace.path)])
    assert result.exit_code == 0, result.output
    assert "fitting now (these options differ" in result.stderr
    stored = CliRunner().invoke(app, ["funnel", "--workspace", str(ran_workspace.path)])
    assert "results of run" in stored.stderr
