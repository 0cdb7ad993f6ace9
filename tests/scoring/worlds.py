"""Simulated worlds for the scoring and rep acceptance tests, built once per session and shared.

Import the fixtures into a test module (`from scoring.worlds import training_world`); the worlds
themselves are cached, so tests/test_reps.py and tests/scoring/ share one build.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from fairshare import Workspace

_BUILT: dict[tuple[int, int], World] = {}


@dataclass
class World:
    workspace: Workspace
    truth: dict[str, pd.DataFrame]


def simulated_world(tmp_path_factory, accounts: int, seed: int) -> World:
    """An imported simulated company (cached per accounts and seed); tests must not write to it."""
    key = (accounts, seed)
    if key not in _BUILT:
        from fairshare.simulate import SimulationConfig, simulate

        root = Path(tmp_path_factory.mktemp(f"scoring-world-{accounts}-{seed}"))
        world = simulate(SimulationConfig(accounts=accounts), seed=seed)
        world.write(root / "company", format="parquet")
        (root / "company" / "forecasts.parquet").unlink(missing_ok=True)  # not used by scoring or reps
        ws = Workspace.init(root / "ws")
        ws.import_(root / "company")
        _BUILT[key] = World(ws, world.truth)
    return _BUILT[key]


@pytest.fixture(scope="session")
def training_world(tmp_path_factory) -> World:
    """6,000 accounts (≈3,700 leads, ≈450 wins, 20 AEs): enough to learn P(win) and to rate reps."""
    return simulated_world(tmp_path_factory, 6000, 9)


@pytest.fixture(scope="session")
def held_out_world(tmp_path_factory) -> World:
    """Another company from the same generator (different seed), never seen in training."""
    return simulated_world(tmp_path_factory, 3000, 8)
