"""The REST API and dashboard server (`fairshare serve`): read-only views of the last run's results.

`create_app(workspace)` builds the FastAPI app. It reads the results snapshot that `fairshare run`
writes (see `snapshot.py`), never the warehouse, and never fits a model.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fastapi import FastAPI

from fairshare import __version__
from fairshare.api.auth import Tokens, configured_tokens
from fairshare.api.security import Sessions, Throttle, install_security_headers
from fairshare.api.snapshot import SnapshotReader
from fairshare.config import CONFIG_NAME, load_definitions


def create_app(workspace: str | Path = ".", tokens: Iterable[str] | None = None) -> FastAPI:
    """The app serving `workspace`'s results; `tokens` default to [api] tokens + FAIRSHARE_API_TOKEN."""
    from fairshare.api.routes import data, pages

    workspace = Path(workspace).resolve()
    definitions = load_definitions(workspace / CONFIG_NAME)
    app = FastAPI(
        title="fairshare",
        version=__version__,
        description="Read-only results of the last `fairshare run`: scorecard, funnel, attribution, "
        "incremental contribution, lead queue, reps, economics. Every /api endpoint needs a bearer token.",
        docs_url=None,
        redoc_url=None,
    )
    _install_offline_docs(app)
    app.state.workspace = workspace
    app.state.currency = definitions.workspace.currency
    app.state.reader = SnapshotReader(workspace)
    app.state.tokens = Tokens(configured_tokens(definitions.api.tokens) if tokens is None else tokens)
    app.state.throttle = Throttle()
    app.state.sessions = Sessions()
    install_security_headers(app)
    app.include_router(data.router)
    pages.install(app)
    return app


def _install_offline_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the installed swagger-ui-bundle package: nothing comes from a CDN."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title="fairshare API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


__all__ = ["create_app"]
