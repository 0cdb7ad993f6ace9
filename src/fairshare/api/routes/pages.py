"""The dashboard: server-rendered pages over the same results snapshot as the JSON API.

Pages need the token too: the login form checks it and stores it in an HttpOnly cookie.
Static assets are local: the stylesheet from `fairshare/web/static`, plotly.js from the installed
plotly package (served from memory at /static/plotly.min.js).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from fairshare.api.auth import COOKIE
from fairshare.api.snapshot import NoResults
from fairshare.web import STATIC, TEMPLATES, sections
from fairshare.web.kpis import kpi_cards

templates = Jinja2Templates(directory=str(TEMPLATES))


@cache
def plotly_js() -> bytes:
    """plotly.js from the installed plotly package (no CDN)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode("utf-8")


def _authorised(request: Request) -> bool:
    return request.app.state.tokens.valid(request.cookies.get(COOKIE))


def install(app: FastAPI) -> None:
    """Add the dashboard pages, the login form and the static assets to `app`."""

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_asset() -> Response:
        return Response(plotly_js(), media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request) -> Response:
        return templates.TemplateResponse(request, "login.html", {"title": "Sign in", "pages": None})

    @app.post("/login", response_class=HTMLResponse, include_in_schema=False)
    def login(request: Request, token: Annotated[str, Form(max_length=1000)]) -> Response:
        if not request.app.state.tokens.valid(token):
            return templates.TemplateResponse(request, "login.html",
                                              {"title": "Sign in", "pages": None, "error": "That token is not valid."},
                                              status_code=401)  # fmt: skip
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=8 * 3600, path="/")
        return response

    @app.post("/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    for page in sections.PAGES:
        app.add_api_route("/" if page.slug == "scorecard" else f"/{page.slug}", _page_handler(page),
                          methods=["GET"], response_class=HTMLResponse, include_in_schema=False,
                          name=f"page_{page.slug}")  # fmt: skip


def _page_handler(page: sections.Page):
    def handler(request: Request) -> Response:
        if not _authorised(request):
            return RedirectResponse("/login", status_code=303)
        context: dict[str, Any] = {"title": page.title, "slug": page.slug, "pages": sections.PAGES}
        try:
            snap = request.app.state.reader.current()
        except NoResults as e:
            context["sections"] = [sections.Section("No results yet", missing=str(e))]
            return templates.TemplateResponse(request, "page.html", context, status_code=503)
        currency = snap.manifest.get("currency", request.app.state.currency)
        context.update(run=snap.manifest, currency=currency, sections=page.build(snap.table, currency))
        if page.slug == "scorecard":
            context["kpis"] = kpi_cards(snap.table("scorecard"))
        return templates.TemplateResponse(request, "page.html", context)

    handler.__name__ = f"page_{page.slug}"
    return handler
