"""Screenshots of the dashboard and the report for the docs (run by hand after `make demo`):

    .venv/bin/python docs/img/screenshots.py demo-workspace docs/img

Serves the workspace on a free 127.0.0.1 port, logs in with a one-off token, and saves one PNG per
dashboard page plus the report (headless Debian Chromium, 1280x860).
"""

from __future__ import annotations

import secrets
import socket
import sys
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from fairshare.api import create_app
from fairshare.web.report import write_report
from fairshare.web.sections import PAGES

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]  # fmt: skip


def main(workspace: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(16)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(workspace, tokens=[token]), host="127.0.0.1", port=port,
                                           log_level="warning"))  # fmt: skip
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    report = write_report(workspace, workspace / "report.html")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
        page.goto(f"{base}/login")
        page.fill("input[name=token]", token)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        for p_ in PAGES:
            page.goto(base + ("/" if p_.slug == "scorecard" else f"/{p_.slug}"))
            page.wait_for_load_state("load")
            page.wait_for_timeout(800)
            page.screenshot(path=str(out / f"dashboard-{p_.slug}.png"))
        page.goto(report.resolve().as_uri())
        page.wait_for_selector(".main-svg")
        page.wait_for_timeout(500)
        page.screenshot(path=str(out / "report.png"))
        browser.close()
    server.should_exit = True


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
