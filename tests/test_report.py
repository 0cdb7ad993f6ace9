"""`fairshare report`: one self-contained HTML file from stored results only."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from fairshare import Workspace
from fairshare.web.report import write_report
from fairshare.web.sections import PAGES
from sample_results import sample_tables


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Workspace:
    ws = Workspace.init(tmp_path_factory.mktemp("report") / "ws")
    ws.save_results(sample_tables(n_leads=300))
    ws.close()
    return ws


def test_report_is_self_contained_with_every_part(stored, tmp_path):
    out = write_report(stored.path, tmp_path / "sub" / "report.html")
    html = out.read_text(encoding="utf-8")
    assert out.stat().st_size > 3_000_000  # plotly.js inlined
    head, _, rest = html.partition("<script>")
    markup = head + rest.partition("</script>")[2]  # the page without the inlined plotly.js
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", markup)  # nothing fetched at view time
    assert "<script src" not in html
    assert '<link rel="icon" href="data:,">' in html
    for page in PAGES:
        assert f'id="{page.slug}"' in html
    assert html.count("Plotly.newPlot(") >= 10
    assert "How we know" in html and "spearman(ability, true_skill)" in html
    assert "Bookings" in html and "3,200,000 USD" in html  # scorecard cards
    assert "L0" in html  # top of the lead queue
    ids = re.findall(r'<div class="chart" id="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # every chart has its own element


def test_report_reads_only_the_snapshot(stored, tmp_path):
    (stored.path / "fairshare.duckdb").rename(stored.path / "moved.duckdb")
    try:
        assert write_report(stored.path, tmp_path / "r.html").exists()
    finally:
        (stored.path / "moved.duckdb").rename(stored.path / "fairshare.duckdb")


def test_report_command(stored, tmp_path):
    import fairshare.cli.serve  # noqa: F401  (registers the commands)
    from fairshare.cli import app

    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", "--out", str(out), "--workspace", str(stored.path)])
    assert result.exit_code == 0, result.output
    assert out.exists() and "wrote" in result.output
    empty = Workspace.init(tmp_path / "empty")
    result = CliRunner().invoke(app, ["report", "--out", str(out), "--workspace", str(empty.path)])
    # no data yet: one line that says what to do first (import, then run)
    assert result.exit_code == 1 and "fairshare import" in result.output
