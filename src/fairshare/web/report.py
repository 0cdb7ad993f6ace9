"""`fairshare report`: one self-contained HTML file of the last run's results.

Everything the page needs is inside the file: the stylesheet and plotly.js (from the installed
plotly package) are inlined, so it opens offline and can be mailed. The report reads only the
stored results snapshot (it never fits a model and never opens the warehouse).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from fairshare.api.snapshot import SnapshotReader
from fairshare.web import STATIC, TEMPLATES, sections


def render_report(workspace: str | Path) -> str:
    """The report's HTML for the workspace's last run (NoResults before any run)."""
    from plotly.offline import get_plotlyjs

    from fairshare.web.kpis import kpi_cards

    snap = SnapshotReader(workspace).current()
    currency = snap.manifest.get("currency", "")
    parts = []
    for page in sections.PAGES:
        built = page.build(snap.table, currency)
        for s in built:
            s.anchor = ""
        parts.append({"slug": page.slug, "title": page.title, "sections": built})
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    return env.get_template("report.html").render(
        run=snap.manifest,
        currency=currency,
        parts=parts,
        kpis=kpi_cards(snap.table("scorecard")),
        summary=sections.summary(snap.table, currency),
        css=(STATIC / "style.css").read_text(encoding="utf-8"),
        plotly_js=get_plotlyjs().replace("</script", "<\\/script"),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
    )


def write_report(workspace: str | Path, out: str | Path) -> Path:
    """Write the report to `out` (written next to it first, then renamed into place)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(render_report(workspace), encoding="utf-8")
    tmp.replace(out)
    return out
