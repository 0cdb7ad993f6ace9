"""Notes: the simulator's notes and truth, theme recovery, the leakage guard, the run's notes area."""

from __future__ import annotations

import pandas as pd
import pytest

from fairshare import Workspace
from fairshare.notes import NoteThemes, note_features, results, usable_notes
from fairshare.simulate import SimulationConfig, simulate


@pytest.fixture(scope="module")
def noted(tmp_path_factory):
    world = simulate(SimulationConfig(accounts=700, notes={"enabled": True}), seed=3)
    root = tmp_path_factory.mktemp("notes")
    world.write(root / "company", format="parquet")
    ws = Workspace.init(root / "ws")
    ws.import_(root / "company")
    yield ws, world
    ws.close()


@pytest.fixture(scope="module")
def ran(noted):
    ws, _ = noted
    out = results(ws, {})
    ws.save_results(out)
    return out


def test_simulated_notes_have_truth_and_close_notes_state_the_outcome(noted):
    _, world = noted
    truth = world.truth["notes"]
    opps = world.tables["opportunities"].set_index("opportunity_id")
    close = truth[truth.at_close]
    # every closed deal that had a discovery meeting gets exactly one close note, at its close, naming its outcome
    assert close.opportunity_id.is_unique and len(close) > 20
    assert (
        close.theme == close.opportunity_id.map(opps.is_won).map({True: "closed_won", False: "closed_lost"})
    ).all()
    assert (pd.to_datetime(close["at"]) == pd.to_datetime(close.opportunity_id.map(opps.closed_at))).all()
    assert set(world.truth["rep_traits"].columns) >= {"closing_skill", "diligence", "product_knowledge"}


def test_themes_recover_the_known_themes(noted):
    ws, world = noted
    notes = ws.facts.notes().execute()
    model = NoteThemes().fit(notes)
    tagged = model.notes_.assign(at=pd.to_datetime(model.notes_["at"], utc=True))
    truth = world.truth["notes"].assign(at=lambda t: pd.to_datetime(t["at"], utc=True))
    j = tagged.merge(truth, on=["opportunity_id", "at"])
    table = pd.crosstab(j.theme_id, j.theme)
    purity = table.max(axis=1).sum() / table.to_numpy().sum()
    assert purity >= 0.8, purity


def test_no_feature_reads_a_note_at_or_after_the_close(noted):
    ws, _ = noted
    notes = ws.facts.notes().execute()
    model = NoteThemes().fit(notes)
    tagged = model.notes_.assign(closed_at=notes["closed_at"].to_numpy())
    deals = notes.drop_duplicates("opportunity_id").set_index("opportunity_id")
    deals = deals[deals.closed_at.notna()]
    late = pd.Series(pd.to_datetime(deals.closed_at, utc=True) + pd.Timedelta(days=30), index=deals.index)
    used = usable_notes(tagged, late)
    assert (
        len(used)
        and (pd.to_datetime(used["at"], utc=True) < pd.to_datetime(used["closed_at"], utc=True)).all()
    )
    # the close notes ("Contract signed", "Closed lost: ...") exist, and changing them changes no feature
    at_close = pd.to_datetime(tagged["at"], utc=True) >= pd.to_datetime(tagged["closed_at"], utc=True)
    assert at_close.sum() > 20
    before = note_features(tagged, late, len(model.labels_))
    flipped = tagged.copy()
    flipped.loc[at_close.to_numpy(), "sentiment"] = -flipped.loc[at_close.to_numpy(), "sentiment"] + 1
    flipped.loc[at_close.to_numpy(), "theme_id"] = 0
    pd.testing.assert_frame_equal(before, note_features(flipped, late, len(model.labels_)))


def test_the_run_area_stores_themes_signals_and_rep_factors(noted, ran):
    out = ran
    assert noted[0].note_themes()["theme"].tolist() == out["note_themes"]["theme"].tolist()  # the task method
    themes = out["note_themes"]
    assert {"theme", "top_terms", "n_notes", "n_deals", "win_rate", "lift", "ci_low", "ci_high"} <= set(
        themes
    )
    won_theme = themes[(themes.share_at_close > 0.9) & (themes.win_rate > 0.9)]
    assert len(won_theme) >= 1, themes[["theme", "share_at_close", "win_rate"]]  # the outcome, at the close
    assert set(out["note_signals"].model) == {"with_notes", "without_notes"}
    factors = out["rep_factors"]
    assert {"consistency", "speed", "product_knowledge", "team_mood"} <= set(factors.factor)
    assert factors[factors.factor == "team_mood"].value.isna().all()


def test_example_notes_reach_signed_in_api_users_only(noted, ran, tmp_path):
    from fastapi.testclient import TestClient

    from fairshare.api import create_app
    from fairshare.web.report import write_report

    ws, _ = noted
    themes = ws.result("note_themes")
    example = themes.examples.iloc[0].split(" | ")[0]
    token = "notes-test-token-0123456"
    report = write_report(ws.path, tmp_path / "report.html").read_text()
    with TestClient(create_app(ws.path, tokens=[token])) as c:
        assert c.get("/api/notes").status_code == 401
        api = c.get("/api/notes", headers={"Authorization": f"Bearer {token}"}).json()
        assert c.post("/login", data={"token": token}, follow_redirects=False).status_code == 303
        page = c.get("/notes").text
    assert api["themes"][0]["examples"] and example in {
        e for r in api["themes"] for e in r["examples"].split(" | ")
    }
    assert "Note themes" in page and "Note themes" in report
    assert example not in page and example not in report  # notes may hold personal data


def test_cli_prints_themes_signals_and_rep_factors_as_json(noted, ran):
    import json

    from typer.testing import CliRunner

    from fairshare.cli import app

    ws, _ = noted
    ws.close()  # the CLI opens the workspace itself
    run = CliRunner().invoke
    themes = json.loads(run(app, ["notes", "themes", "--format", "json", "-w", str(ws.path)]).stdout)
    assert {"theme", "top_terms", "n_notes", "n_deals", "win_rate", "lift", "ci_low", "ci_high"} <= set(
        themes[0]
    )
    by = json.loads(
        run(app, ["notes", "themes", "--by", "outcome", "--format", "json", "-w", str(ws.path)]).stdout
    )
    assert {r["group"] for r in by} <= {"won", "lost", "open"} and by
    rows = json.loads(
        run(app, ["notes", "evaluate", "--as-of-days", "10", "--format", "json", "-w", str(ws.path)]).stdout
    )
    assert [r["model"] for r in rows] == ["with_notes", "without_notes"] and all(
        r["metric"] == "roc_auc" for r in rows
    )
    factors = json.loads(
        run(app, ["reps", "--factors", "--limit", "0", "--format", "json", "-w", str(ws.path)]).stdout
    )
    assert {"consistency", "speed", "product_knowledge"} <= {r["factor"] for r in factors}


def test_too_few_notes_is_missing_data_not_a_failure(tmp_path):
    from pathlib import Path

    from fairshare.errors import AreaMissing

    ws = Workspace.init(tmp_path / "ws")
    ws.import_(Path(__file__).resolve().parents[2] / "examples" / "tiny")  # one note on an opportunity
    with pytest.raises(AreaMissing, match="too few"):
        results(ws, {})
    ws.close()
