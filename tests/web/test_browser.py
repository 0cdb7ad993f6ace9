"""Real-browser test: headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) loads every
dashboard page after logging in, and the report; charts render, no console or page errors, no request
leaves 127.0.0.1. Screenshots go to a temporary folder (FAIRSHARE_SCREENSHOTS=DIR keeps them).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from fairshare.api import create_app
from fairshare.web.sections import PAGES

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync"]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} not installed (`make browser` installs the Debian package as root)"),
]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(results_workspace, web_token):
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(create_app(results_workspace.path, tokens=[web_token]), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off")  # fmt: skip
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("FAIRSHARE_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _watch(page, origin: str) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"console": [], "page": [], "foreign": []}
    page.on("console", lambda m: seen["console"].append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["page"].append(str(e)))
    page.on(
        "request", lambda r: None if r.url.startswith((origin, "data:")) else seen["foreign"].append(r.url)
    )
    return seen


def test_every_dashboard_page_renders_charts(server, browser, shots, web_token):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen = _watch(page, server)
    page.goto(f"{server}/")
    assert page.url.endswith("/login")
    page.fill("input[name=token]", web_token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    for p in PAGES:
        url = f"{server}/" if p.slug == "scorecard" else f"{server}/{p.slug}"
        page.goto(url)
        page.wait_for_selector(".main-svg", timeout=15_000)
        charts = page.locator("div.chart").count()
        assert charts >= 1, p.slug
        assert page.locator("div.chart .main-svg").count() >= charts, f"{p.slug}: a chart did not render"
        assert page.locator("div.chart g.trace, div.chart g.funnel, div.chart .bars").count() >= 1, p.slug
        page.screenshot(path=str(shots / f"dashboard-{p.slug}.png"))
    context.close()
    assert seen["console"] == [], seen["console"]
    assert seen["page"] == [], seen["page"]
    assert seen["foreign"] == [], seen["foreign"]


def test_report_opens_offline_with_charts(results_workspace, browser, shots, tmp_path):
    from fairshare.web.report import write_report

    out = write_report(results_workspace.path, tmp_path / "report.html")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    page = context.new_page()
    seen = _watch(page, out.as_uri())
    page.goto(out.as_uri())
    page.wait_for_selector(".main-svg", timeout=20_000)
    assert page.locator("div.chart").count() == page.locator("div.chart > div.plot-container").count() >= 10
    page.screenshot(path=str(shots / "report.png"))
    context.close()
    assert seen["console"] == [] and seen["page"] == [] and seen["foreign"] == [], seen


def test_api_docs_render_the_openapi_31_document_offline(server, browser, shots):
    """/docs used to say "Unable to render this definition": Swagger UI 4 cannot read OpenAPI 3.1."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen = _watch(page, server)
    page.goto(f"{server}/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() >= 10
    assert "Unable to render" not in page.content()
    assert page.locator(".version-stamp, .version").first.inner_text().strip() != ""
    page.screenshot(path=str(shots / "docs.png"))
    context.close()
    assert seen["console"] == [] and seen["page"] == [] and seen["foreign"] == [], seen


def test_landing_page_opens_with_the_summary_and_the_diagnosis(server, browser, shots, web_token):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/login")
    page.fill("input[name=token]", web_token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    summary = page.locator("#summary")
    assert summary.is_visible() and summary.bounding_box()["y"] < 900  # on the first screen
    text = summary.inner_text()
    assert (
        "Primary cause: sales capacity." in text
        and "Marketing: not identified" in text
        and "SDR outreach added" in text
    )
    assert page.locator("#recommendations table tbody tr").count() == 2
    page.screenshot(path=str(shots / "dashboard-summary.png"))
    context.close()
