"""API fixtures: a workspace holding hand-made results (fast), and a token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fairshare import Workspace
from fairshare.api import create_app

TOKEN = "test-token-0123456789"


@pytest.fixture(scope="session")
def client(results_workspace) -> TestClient:
    with TestClient(create_app(results_workspace.path, tokens=[TOKEN])) as c:
        yield c


@pytest.fixture
def token() -> str:
    return TOKEN


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="session")
def ran_workspace(sim_workspace, tmp_path_factory) -> Workspace:
    """A copy of the shared simulated workspace after a full `fairshare run` with the simulator's truth."""
    import shutil

    from fairshare.run import run

    folder = tmp_path_factory.mktemp("ran") / "ws"
    shutil.copytree(sim_workspace.workspace.path, folder)
    truth = tmp_path_factory.mktemp("truth")
    for name, frame in sim_workspace.truth.items():
        frame.to_parquet(truth / f"{name}.parquet")
    ws = Workspace(folder)
    try:
        run(ws, truth_dir=truth)
    finally:
        ws.close()
    return ws
