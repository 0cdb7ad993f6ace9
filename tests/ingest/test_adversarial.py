"""What the adversarial pass found in the importer: each input is rejected with file:line: column: why
(and the warehouse left identical), or imported whole; nothing is silently shifted, dropped or stored."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from fairshare import Workspace
from fairshare.ingest import ImportFailed, validate_folder

TINY = Path(__file__).resolve().parents[2] / "examples" / "tiny"


@pytest.fixture
def tiny(tmp_path) -> Path:
    return Path(shutil.copytree(TINY, tmp_path / "tiny"))


@pytest.fixture
def ws(tmp_path):
    w = Workspace.init(tmp_path / "ws")
    w.import_(TINY)
    yield w
    w.close()


def _contents(ws: Workspace) -> dict[str, str]:
    return {
        name: ws.table(name).execute().to_csv(index=False) for name in ("touches", "opportunities", "reps")
    }


def _rejected(ws: Workspace, folder: Path) -> list[str]:
    before = _contents(ws)
    with pytest.raises(ImportFailed) as e:
        ws.import_(folder)
    assert _contents(ws) == before
    return [str(p) for p in e.value.report.problems]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_folder_with_only_reps_is_rejected_by_import_as_by_validate(tmp_path, ws):
    fresh = Workspace.init(tmp_path / "fresh")
    only = tmp_path / "only"
    only.mkdir()
    shutil.copy(TINY / "reps.csv", only / "reps.csv")
    with pytest.raises(ImportFailed) as e:  # the canonical tables exist, empty, in a fresh warehouse
        fresh.import_(only)
    problems = [str(p) for p in e.value.report.problems]
    assert any("missing required table 'accounts'" in p for p in problems)
    assert any("needs touches or activities" in p for p in problems)
    assert [str(p) for p in fresh.validate(only).problems] == problems
    fresh.close()
    assert ws.import_(only).written  # with the required tables already filled, an update of reps is fine


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("2026-01-15T10:00:00Z", "99999-01-15T10:00:00Z", "implausible year 99999"),
        ("2026-01-15T10:00:00Z", "2026-01-15T10:00:00+25:00", "time zone offset out of range"),
        ("2026-01-15T10:00:00Z", "2026-01-15 10:00:00-1430", "time zone offset out of range"),
        ("2026-01-15T10:00:00Z", "1850-01-15T10:00:00Z", "implausible year 1850"),
    ],
)
def test_implausible_times_and_offsets_name_file_line_and_column(ws, tiny, old, new, why):
    _replace(tiny / "touches.csv", old, new)
    problems = _rejected(ws, tiny)
    assert any(p.startswith("touches.csv:2: at: ") and why in p for p in problems), problems


def test_the_plausible_years_come_from_the_definitions(tmp_path, tiny):
    ws = Workspace.init(tmp_path / "old")
    config = ws.path / "fairshare.toml"
    config.write_text(config.read_text().replace("earliest_year = 1970", "earliest_year = 1800"))
    _replace(tiny / "touches.csv", "2026-01-15T10:00:00Z", "1850-01-15T10:00:00Z")
    assert Workspace(ws.path).import_(tiny).written


def test_offsets_up_to_14_hours_import_at_their_utc_time(ws, tiny):
    _replace(tiny / "touches.csv", "2026-01-15T10:00:00Z", "2026-01-15T10:00:00+14:00")
    ws.import_(tiny)
    at = ws.table("touches").execute().set_index("touch_id").loc["T1", "at"]
    assert at == pd.Timestamp("2026-01-14 20:00:00")


def test_nul_bytes_are_reported_with_their_line_not_as_utf16(ws, tiny):
    _replace(tiny / "touches.csv", "T2,2026-01-20", "T2\x00,2026-01-20")  # near the top of the file
    problems = _rejected(ws, tiny)
    assert any(p.startswith("touches.csv:3: ") and "NUL byte" in p for p in problems), problems
    assert not any("UTF-16" in p for p in problems)


def test_a_nul_byte_far_down_a_file_is_not_stored(ws, tiny):
    lines = (TINY / "touches.csv").read_text().splitlines()
    extra = [f"X{i},2026-01-15T10:00:00Z,C1,,paid_search,K1,click,1.5" for i in range(2000)]
    extra[1500] = extra[1500].replace("click", "cl\x00ick")
    (tiny / "touches.csv").write_text("\n".join(lines + extra) + "\n")
    problems = _rejected(ws, tiny)
    assert any(p.startswith(f"touches.csv:{len(lines) + 1501}: ") and "NUL byte" in p for p in problems), (
        problems
    )


def test_a_header_longer_than_64_kb_keeps_every_column(ws, tiny):
    names = [f"note_{i:04d}_{'x' * 60}" for i in range(1000)]  # ~70 KB of header
    frame = pd.read_csv(TINY / "accounts.csv")
    wide = pd.concat([frame, pd.DataFrame({n: ["v"] * len(frame) for n in names})], axis=1)
    wide.to_csv(tiny / "accounts.csv", index=False)
    assert len((tiny / "accounts.csv").read_text().splitlines()[0]) > 1 << 16
    ws.import_(tiny)
    last = ws.con.raw_sql(f"SELECT count(*) FROM accounts WHERE \"{names[-1]}\" = 'v'").fetchone()[0]
    assert last == len(frame)


class _Statements:
    """A DuckDB connection that records each statement with the optimizers it was planned without."""

    def __init__(self, con) -> None:
        self._con, self.seen = con, []

    def execute(self, sql: str, *args, **kwargs):
        off = self._con.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0]
        self.seen.append((sql, off))
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def test_many_extra_columns_are_added_in_one_statement(monkeypatch):
    """One ALTER TABLE per column grew quadratically (3,000 columns: 45 s here, 1,000: 5.9 s)."""
    import ibis

    from fairshare import warehouse

    con = ibis.duckdb.connect()
    con.raw_sql("CREATE TABLE touches AS SELECT range AS touch_id FROM range(1000)")
    spy = _Statements(con.con)
    monkeypatch.setattr(con, "con", spy)
    warehouse.add_columns(con, "touches", {f"f{i}": "VARCHAR" for i in range(300)})
    assert [sql for sql, _ in spy.seen if "f299" in sql] == [sql for sql, _ in spy.seen if "touches" in sql]
    assert sum("f0" in sql for sql, _ in spy.seen) == 1
    assert len(con.table("touches").columns) == 301
    warehouse.add_columns(con, "touches", {"f0": "VARCHAR", "g": "VARCHAR"})  # a few: in place
    assert con.table("touches").columns[-1] == "g"
    monkeypatch.undo()
    con.disconnect()


def _with_wide_touches(folder: Path, n: int) -> Path:
    """The tiny example with `n` extra columns in touches.csv (each value " v")."""
    header, *rows = (TINY / "touches.csv").read_text().splitlines()
    shutil.copytree(TINY, folder)
    (folder / "touches.csv").write_text(
        "\n".join([header + "".join(f",extra_{i}" for i in range(n)), *(r + ", v" * n for r in rows)]) + "\n"
    )
    return folder


def test_a_wide_file_costs_the_statements_of_a_narrow_one_none_planned_in_quadratic_time(
    tmp_path, monkeypatch
):
    """30,000 extra columns took 952 s (3,000: 7 s): DuckDB's common-subexpression pass is quadratic in
    the expressions of one SELECT. The one statement that cleans every cell is planned without it, and
    the statements issued do not grow with the columns (no per-column statements)."""
    issued = {}
    with Workspace.init(tmp_path / "ws") as ws:
        for n in (20, 300):  # the second import adds 280 columns to the 20 of the first
            spy = _Statements(ws.con.con)
            monkeypatch.setattr(ws.con, "con", spy)
            ws.import_(_with_wide_touches(tmp_path / f"wide{n}", n))
            monkeypatch.undo()
            computed = [(sql, off) for sql, off in spy.seen if sql.count("trim(") >= n]  # a value per cell
            assert len(computed) == 1 and "common_subexpressions" in computed[0][1], computed
            assert ws.con.con.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0] == ""
            issued[n] = len(spy.seen)
            extras = ws.table("touches").select(*[f"extra_{i}" for i in range(n)]).execute()
            assert extras.shape == (5, n) and (extras == "v").all().all()  # " v" stored trimmed
    assert issued[20] == issued[300]


def test_absurd_amounts_are_rejected_before_they_overflow_sums(ws, tiny):
    _replace(tiny / "opportunities.csv", ",48000,", ",1e308,")
    problems = _rejected(ws, tiny)
    assert any(p.startswith("opportunities.csv:2: amount: number too large") for p in problems), problems


def test_messages_say_touch_not_touche(ws, tiny):
    (tiny / "touches.csv").write_text("")
    problems = _rejected(ws, tiny)
    assert any("one row per touch" in p and "touche " not in p for p in problems), problems


def test_mapping_on_a_canonical_folder_names_the_users_folder(ws, tiny):
    problems = [str(p) for p in validate_folder(tiny).problems]
    assert problems == []
    with pytest.raises(Exception) as e:
        ws.import_(tiny, mapping="salesforce")
    text = str(e.value) + "".join(str(p) for p in getattr(getattr(e.value, "report", None), "problems", []))
    assert "fairshare-mapped-" not in text, text
