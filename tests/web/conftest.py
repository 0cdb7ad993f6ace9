"""Dashboard fixtures: a token (the workspace with hand-made results is `results_workspace`, tests/conftest.py)."""

from __future__ import annotations

import pytest

TOKEN = "web-token-0123456789"


@pytest.fixture(scope="session")
def web_token() -> str:
    return TOKEN
