"""Small simulated worlds shared by the simulator tests (module-scoped: each is built once)."""

from __future__ import annotations

import pytest

from fairshare.simulate import SimulationConfig, simulate_with_truth


@pytest.fixture(scope="session")
def small_config() -> SimulationConfig:
    return SimulationConfig(accounts=400)


@pytest.fixture(scope="session")
def small_world(small_config):
    return simulate_with_truth(small_config, seed=11)
