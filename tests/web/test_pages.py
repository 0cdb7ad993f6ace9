"""Dashboard pages through TestClient: login, cookie auth, every page renders its charts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fairshare.api import create_app
from fairshare.api.auth import COOKIE
from fairshare.web.sections import PAGES

URLS = ["/" if p.slug == "scorecard" else f"/{p.slug}" for p in PAGES]


@pytest.fixture
def browser_client(results_workspace, web_token):
    with TestClient(create_app(results_workspace.path, tokens=[web_token])) as c:
        yield c


@pytest.mark.parametrize("url", URLS)
def test_pages_redirect_to_login_without_a_token(browser_client, url):
    r = browser_client.get(url, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_login_sets_an_httponly_cookie_and_pages_render(browser_client, web_token):
    bad = browser_client.post("/login", data={"token": "nope"}, follow_redirects=False)
    assert bad.status_code == 401 and COOKIE not in bad.cookies
    r = browser_client.post("/login", data={"token": web_token}, follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert web_token not in cookie  # the cookie holds a session id, never the API token
    for url in URLS:
        page = browser_client.get(url)
        assert page.status_code == 200, url
        assert 'rel="icon" href="data:,"' in page.text
        assert "Plotly.newPlot" in page.text, url
        assert 'src="http' not in page.text and 'href="http' not in page.text  # nothing from a CDN
    scorecard = browser_client.get("/").text
    # the first screen answers before the KPIs: team values, the diagnosis and the best next step
    assert scorecard.index("In short") < scorecard.index("Bookings</") if "Bookings</" in scorecard else True
    assert "Primary cause: sales capacity." in scorecard and "Marketing: not identified" in scorecard
    assert "SDR outreach added 400.00k USD" in scorecard
    assert "work the 310 never-contacted leads" in scorecard and "Diagnosis evidence" in scorecard
    assert "Bookings" in scorecard and "3,200,000 USD" in scorecard and "36.0%" in scorecard
    assert "+300,000 USD" in scorecard and "+5.0 pp" in scorecard  # changes in the KPI's unit
    # cold calls or marketing leads: the prospecting verdict, intervals separated on both ratios
    assert "per rep-hour: marketing leads $8,546 [$7,283, $9,753] is best" in scorecard
    assert "per total $ (media + sales time): cold calls $54.40 [$38.60, $73.00] is best" in scorecard
    contribution = browser_client.get("/contribution").text
    # how to read each number stays visible: not identified, assumption, the period and every strategy
    assert "not identified" in contribution and "assumption" in contribution
    assert "all history 2025-01-01..2025-12-31" in contribution and "Strategies" in contribution
    assert "entries into outbound sequences" in contribution
    # the token cookie also authorises the JSON API (same origin)
    assert browser_client.get("/api/scorecard").status_code == 200
    out = browser_client.post("/logout", follow_redirects=False)
    assert out.status_code == 303 and COOKIE in out.headers["set-cookie"]
    browser_client.cookies.set(COOKIE, r.cookies[COOKIE])  # the old session id no longer opens anything
    assert browser_client.get("/api/scorecard").status_code == 401
    assert browser_client.get("/", follow_redirects=False).status_code == 303


def test_static_assets_are_local(browser_client):
    js = browser_client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000 and b"plotly" in js.content[:2000].lower()
    assert browser_client.get("/static/style.css").status_code == 200


def test_script_injection_in_result_text_is_escaped(tmp_path):
    import pandas as pd

    from fairshare import Workspace

    ws = Workspace.init(tmp_path / "ws")
    evil = "</script><script>alert(1)</script>"
    ws.save_results({"attribution": pd.DataFrame({"model": ["m"], "by": ["channel"], "key": [evil], "share": [1.0],
                                                  "ci_low": [0.9], "ci_high": [1.0]})})  # fmt: skip
    ws.close()
    with TestClient(create_app(ws.path, tokens=["t"])) as c:
        c.post("/login", data={"token": "t"})
        html = c.get("/attribution").text
    assert "<script>alert(1)</script>" not in html


def test_every_response_carries_security_headers(browser_client, web_token):
    for url in ["/login", "/static/style.css", "/docs", "/openapi.json", "/api/scorecard", "/nope", *URLS]:
        r = browser_client.get(url, follow_redirects=False)
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, url
        assert r.headers["x-frame-options"] == "DENY", url
        assert r.headers["x-content-type-options"] == "nosniff", url
        assert r.headers["referrer-policy"] == "no-referrer", url


def test_wrong_tokens_are_throttled_per_client(browser_client, web_token):
    """300 guesses used to get 300 answers; now the 11th wrong token within a minute gets 429."""
    codes = [browser_client.post("/login", data={"token": f"guess-{i}"}).status_code for i in range(30)]
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}
    api = browser_client.get("/api/scorecard", headers={"Authorization": f"Bearer {web_token}"})
    assert api.status_code == 429 and int(api.headers["retry-after"]) > 0  # even a right token waits
    browser_client.app.state.throttle.reset()
    assert (
        browser_client.get("/api/scorecard", headers={"Authorization": f"Bearer {web_token}"}).status_code
        == 200
    )
