"""The shared backend suite's fixtures: one small imported world on DuckDB, PostgreSQL and Spark.

`backend` is parametrised, so every test id names its backend (`[duckdb]`, `[postgres]`,
`[spark]`). The servers start once per test session (`servers.py`) and stop at its end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.servers import BackendUnavailable, create_database, in_ci, postgres_cluster, spark_session
from fairshare import Workspace
from fairshare.config import CONFIG_NAME

BACKENDS = ("duckdb", "postgres", "spark")
#: The suite's world: small enough that Spark local mode answers in seconds per query.
ACCOUNTS = 150
SEED = 5


def _unavailable(name: str, error: Exception) -> None:
    """Fail under CI (a backend must never be skipped silently there), skip with one line elsewhere."""
    if in_ci():
        pytest.fail(f"backend {name} could not start: {error}", pytrace=False)
    pytest.skip(f"backend {name} not available here: {error}")


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL cluster for the whole test session (URL of its `postgres` database)."""
    try:
        cluster = postgres_cluster()
        url = cluster.__enter__()
    except (BackendUnavailable, OSError) as e:
        _unavailable("postgres", e)
    try:
        yield url
    finally:
        cluster.__exit__(None, None, None)


@pytest.fixture(scope="session")
def spark_server():
    """The local Spark session shared by every Spark test (stopped at the end of the session)."""
    try:
        session = spark_session()
    except (BackendUnavailable, OSError, RuntimeError) as e:
        _unavailable("spark", e)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def world_folder(tmp_path_factory) -> Path:
    """A small simulated company written as canonical Parquet files."""
    from fairshare.simulate import SimulationConfig, simulate

    folder = tmp_path_factory.mktemp("backend-world") / "company"
    simulate(SimulationConfig(accounts=ACCOUNTS), seed=SEED).write(folder, format="parquet")
    return folder


def workspace_on(root: Path, url: str) -> Workspace:
    """A new workspace whose definitions point at the warehouse `url`."""
    Workspace.init(root)
    config = root / CONFIG_NAME
    text = config.read_text(encoding="utf-8")
    default = 'warehouse = "duckdb:///{workspace}/fairshare.duckdb"'
    assert default in text, "the default fairshare.toml no longer names the DuckDB warehouse this way"
    config.write_text(text.replace(default, f'warehouse = "{url}"'), encoding="utf-8")
    return Workspace(root)


def warehouse_url(request, name: str, tag: str, root: Path) -> str:
    """The URL of a new, empty warehouse on backend `name` (starting its server if needed)."""
    if name == "duckdb":
        return "duckdb:///{workspace}/fairshare.duckdb"
    if name == "postgres":
        return create_database(request.getfixturevalue("postgres_server"), f"fairshare_{tag}")
    request.getfixturevalue("spark_server")
    return f"pyspark://{root / 'spark'}"


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, world_folder, tmp_path_factory) -> Workspace:
    """The suite's world imported into a workspace on one backend (read it; never write to it)."""
    name = request.param
    root = tmp_path_factory.mktemp(f"ws-{name}")
    ws = workspace_on(root, warehouse_url(request, name, "world", root))
    ws.import_(world_folder)
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def duckdb_world(world_folder, tmp_path_factory) -> Workspace:
    """The reference: the same world on DuckDB (what every backend must reproduce)."""
    ws = workspace_on(tmp_path_factory.mktemp("ws-reference"), "duckdb:///{workspace}/fairshare.duckdb")
    ws.import_(world_folder)
    yield ws
    ws.close()
