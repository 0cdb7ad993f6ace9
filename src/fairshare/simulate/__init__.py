"""The ground-truth company: a B2B world whose hidden truth (and its counterfactuals) is known.

```python
from fairshare.simulate import SimulationConfig, simulate, simulate_with_truth
world = simulate(SimulationConfig(accounts=3000), seed=7)          # canonical tables in world.tables
world = simulate_with_truth(SimulationConfig(), seed=7)            # + replays: world.truth["incremental"]
world.write("out", format="parquet")                               # <out>/<table>.parquet + <out>/truth/
```
See docs/simulator.md for the generative story, every parameter and the truth tables.
"""

from fairshare.simulate.config import ChannelSpec, SimulationConfig
from fairshare.simulate.scenarios import Scenario
from fairshare.simulate.world import World, default_replays, simulate, simulate_with_truth

__all__ = [
    "ChannelSpec", "Scenario", "SimulationConfig", "World", "default_replays", "simulate", "simulate_with_truth",
]  # fmt: skip
