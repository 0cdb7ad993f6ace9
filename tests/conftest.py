"""Shared fixtures: small simulated companies with known truth, imported into workspaces."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from fairshare import Workspace
from sample_results import sample_tables

TINY = Path(__file__).resolve().parents[1] / "examples" / "tiny"
SIM_ACCOUNTS = 400
SIM_SEED = 11


@dataclass
class SimulatedWorkspace:
    """An imported simulated world: the workspace, the canonical folder and the truth tables."""

    workspace: Workspace
    folder: Path
    truth: dict[str, pd.DataFrame]
    world: object


def _simulated(tmp_path_factory, accounts: int, seed: int, scenarios: tuple[str, ...]) -> SimulatedWorkspace:
    from fairshare.simulate import SimulationConfig, simulate_with_truth

    root = tmp_path_factory.mktemp(f"sim{accounts}-{seed}")
    world = simulate_with_truth(SimulationConfig(accounts=accounts), seed=seed, scenarios=scenarios)
    folder = root / "company"
    world.write(folder, format="parquet")
    ws = Workspace.init(root / "ws")
    ws.import_(folder)
    ws.close()
    return SimulatedWorkspace(ws, folder, world.truth, world)


@pytest.fixture(scope="session")
def sim_workspace(tmp_path_factory) -> SimulatedWorkspace:
    """A small company (≈400 accounts) with marketing, SDR and AE replays, imported and ready.

    Shared by the whole session: tests must not write to it (copy the folder to import elsewhere).
    """
    sim = _simulated(tmp_path_factory, SIM_ACCOUNTS, SIM_SEED, ("marketing_off", "sdr_off", "ae_off"))
    yield sim
    sim.workspace.close()


@dataclass
class World:
    """An imported simulated company without replays (scoring and rep tests); never write to it."""

    workspace: Workspace
    truth: dict[str, pd.DataFrame]


def _world(tmp_path_factory, accounts: int, seed: int) -> World:
    from fairshare.simulate import SimulationConfig, simulate

    root = Path(tmp_path_factory.mktemp(f"scoring-world-{accounts}-{seed}"))
    world = simulate(SimulationConfig(accounts=accounts), seed=seed)
    world.write(root / "company", format="parquet")
    (root / "company" / "forecasts.parquet").unlink(missing_ok=True)  # not used by scoring or reps
    ws = Workspace.init(root / "ws")
    ws.import_(root / "company")
    return World(ws, world.truth)


@pytest.fixture(scope="session")
def training_world(tmp_path_factory) -> World:
    """6,000 accounts (≈3,700 leads, ≈450 wins, 20 AEs): enough to learn P(win) and to rate reps.

    The slowest fixture of the suite: built once per test run, shared by tests/scoring and test_reps.
    """
    world = _world(tmp_path_factory, 6000, 9)
    yield world
    world.workspace.close()


@pytest.fixture(scope="session")
def held_out_world(tmp_path_factory) -> World:
    """Another company from the same generator (different seed), never seen in training."""
    world = _world(tmp_path_factory, 3000, 8)
    yield world
    world.workspace.close()


@pytest.fixture(scope="module")
def tiny_ws(tmp_path_factory) -> Workspace:
    """`examples/tiny` imported into a fresh workspace, shared by one test module."""
    ws = Workspace.init(tmp_path_factory.mktemp("tiny") / "ws")
    ws.import_(TINY)
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def results_workspace(tmp_path_factory) -> Workspace:
    """A workspace whose last run stored the hand-made sample tables (no data imported, no model fitted)."""
    ws = Workspace.init(tmp_path_factory.mktemp("results") / "ws")
    ws.save_results(sample_tables(), seconds=1.0)
    ws.close()
    return ws
