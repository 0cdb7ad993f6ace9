"""Dashboard fixtures: a workspace holding the API tests' hand-made results."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from fairshare import Workspace

TOKEN = "web-token-0123456789"


def _sample_tables():
    spec = importlib.util.spec_from_file_location(
        "api_sample_results", Path(__file__).parents[1] / "api" / "sample_results.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sample_tables()


@pytest.fixture(scope="session")
def web_token() -> str:
    return TOKEN


@pytest.fixture(scope="session")
def web_workspace(tmp_path_factory) -> Workspace:
    ws = Workspace.init(tmp_path_factory.mktemp("web") / "ws")
    ws.save_results(_sample_tables(), seconds=1.0)
    ws.close()
    return ws
