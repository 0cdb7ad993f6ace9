"""Random bad cells never crash the importer with a traceback and never half-write."""

import csv
import io
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairshare import Workspace
from fairshare.ingest import ImportFailed

TINY = Path(__file__).resolve().parents[2] / "examples" / "tiny"
FILES = sorted(p.name for p in TINY.glob("*.csv"))
LINE = re.compile(r"^[a-z_]+\.csv(:\d+)?:( [a-z_, ]+:)? .+", re.S)

cells = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "-1",
            "NaN",
            "inf",
            "1e309",
            "2026-02-30",
            "yes",
            "null",
            '"',
            "\n",
            ";",
            "\ufeff",
            "Ünïcødé",
            "99999-01-01",
            "2026-01-01T00:00:00+25:00",
            "a\x00b",
            "1e308",
            "1850-01-01",
        ]
    ),
)


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> tuple[Path, dict, str]:
    """The tiny example imported once (copied per example): its folder, row counts and touches."""
    with Workspace.init(tmp_path_factory.mktemp("imported") / "ws") as ws:
        ws.import_(TINY)
        return ws.path, ws.status()["tables"], _touches(ws)


def _touches(ws: Workspace) -> str:
    return ws.table("touches").execute().sort_values("touch_id").to_csv()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(FILES), st.integers(0, 20), st.integers(0, 12), cells),
                      min_size=1, max_size=4))  # fmt: skip
def test_random_bad_cells(tmp_path_factory, imported, edits):
    folder = Path(shutil.copytree(TINY, tmp_path_factory.mktemp("fuzz") / "in"))
    for file, row, col, value in edits:
        rows = list(csv.reader(io.StringIO((folder / file).read_text())))
        r = 1 + row % (len(rows) - 1)
        c = col % len(rows[r])
        rows[r][c] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        (folder / file).write_text(out.getvalue())
    pristine, before, before_touches = imported
    with Workspace(shutil.copytree(pristine, tmp_path_factory.mktemp("ws") / "ws")) as ws:
        try:
            report = ws.import_(folder)
        except ImportFailed as e:
            assert e.report.problems
            for p in e.report.problems:
                assert LINE.match(str(p)), str(p)
            assert ws.status()["tables"] == before
            assert _touches(ws) == before_touches
        else:
            assert report.ok and report.written
