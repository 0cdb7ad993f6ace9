"""Named families of simulated companies: from "marketing creates demand" to "marketing mostly captures it".

```python
from fairshare.simulate.grid import grid_points
for point in grid_points("contribution", accounts=1500, seeds=3):     # 10 configurations x 3 seeds
    world = simulate_with_truth(point.config, seed=point.seed)
```
Every configuration has budget flights with regional budgets and SDR capacity changes on (the
variation that identifies effects); half of them also have randomized account holdouts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from fairshare.simulate.config import SimulationConfig

#: the mechanisms that break naive estimators, switched on together in the "-confounded" configurations
CONFOUNDERS: dict[str, Any] = {
    "exposure_intent": 1.5,
    "cadence_stop_on_engagement": 0.8,
    "sdr_private_targeting": 1.0,
}
VARIATION: dict[str, Any] = {"budget_flights": {"enabled": True}, "sdr_capacity_changes": {"enabled": True}}
HOLDOUTS: dict[str, Any] = {"holdouts": {"marketing_share": 0.1, "sdr_share": 0.1}}
ARRIVAL_SHARES = (0.0, 0.2, 0.4, 0.6, 0.8)
FIRST_SEED = 100


def _contribution_grid() -> dict[str, dict[str, Any]]:
    """10 configurations: organic_arrival_share 0..0.8 x (plain, confounded); holdouts in every other one."""
    out: dict[str, dict[str, Any]] = {}
    for i, share in enumerate(ARRIVAL_SHARES):
        for j, confounded in enumerate((False, True)):
            name = f"arrive{round(share * 100):02d}-{'confounded' if confounded else 'plain'}"
            over: dict[str, Any] = {"organic_arrival_share": share, **VARIATION}
            if confounded:
                over.update(CONFOUNDERS)
            if (i + j) % 2:
                over.update(HOLDOUTS)
            out[name] = over
    return out


#: grid name → configuration name → overrides of SimulationConfig (nested models as dicts)
GRIDS: dict[str, dict[str, dict[str, Any]]] = {
    "contribution": _contribution_grid(),
    "smoke": {
        k: v for k, v in _contribution_grid().items() if k in ("arrive00-plain", "arrive80-confounded")
    },
}


class GridPoint(NamedTuple):
    """One simulated company of a grid: the configuration's name, its config and the seed."""

    name: str
    config: SimulationConfig
    seed: int


def grid_config(name: str, accounts: int = 3000, **overrides: Any) -> SimulationConfig:
    """The SimulationConfig of configuration `name` (of any grid), with `accounts` and further overrides."""
    for configs in GRIDS.values():
        if name in configs:
            return SimulationConfig(**{**configs[name], "accounts": accounts, **overrides})
    known = sorted({n for configs in GRIDS.values() for n in configs})
    raise ValueError(f"unknown grid configuration {name!r}; known: {', '.join(known)}")


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def configure(
    name: str | None = None, accounts: int = 3000, settings: Sequence[str] = ()
) -> SimulationConfig:
    """A config from a grid configuration `name` (or the defaults) and `key=value` settings.

    Values are JSON (`0.4`, `true`, `{"enabled": true}`) or plain strings; dotted keys reach into nested
    models (`budget_flights.regional=false`). Unknown keys are rejected by the config itself.
    """
    over: dict[str, Any] = {}
    for item in settings:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set needs key=value (got {item!r})")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        for part in reversed(key.strip().split(".")[1:]):
            value = {part: value}
        over = _merge(over, {key.strip().split(".")[0]: value})
    if name is None:
        return SimulationConfig(**_merge({"accounts": accounts}, over))
    base = grid_config(name, accounts).model_dump(exclude_unset=True)
    return SimulationConfig(**_merge(base, over))


def grid_points(
    grid: str = "contribution", accounts: int = 3000, seeds: int = 3, first_seed: int = FIRST_SEED
) -> list[GridPoint]:
    """Every (configuration, seed) of `grid`: the companies an estimator is scored on."""
    if grid not in GRIDS:
        raise ValueError(f"unknown grid {grid!r}; known: {', '.join(GRIDS)}")
    return [GridPoint(name, grid_config(name, accounts), seed)
            for name in GRIDS[grid] for seed in range(first_seed, first_seed + seeds)]  # fmt: skip
