"""Speed and memory of the simulator (run by hand: `.venv/bin/python benchmarks/simulate_bench.py [accounts]`).

Prints seconds and peak memory for: one factual world, the factual world plus every standard replay
(the issue's target: under 30 s on 2 cores for 3,000 accounts), and writing CSV/Parquet. Ratios are
against the factual world measured in the same run and against the 30 s target.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
import tracemalloc

from fairshare.simulate import SimulationConfig, default_replays, simulate, simulate_with_truth

TARGET_S = 30.0


def _timed(label: str, fn):
    """Time `fn` plainly, then once more under tracemalloc for its peak Python-heap allocation."""
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<44} {seconds:7.2f} s   peak traced {peak / 2**20:7.1f} MiB")
    return out, seconds


def main(accounts: int = 3000) -> None:
    cfg = SimulationConfig(accounts=accounts)
    simulate(SimulationConfig(accounts=100), seed=0)  # warm imports
    world, t_factual = _timed(f"factual world ({accounts} accounts)", lambda: simulate(cfg, seed=1))
    replays = default_replays(cfg)
    truth, t_all = _timed(f"factual + {len(replays)} replays", lambda: simulate_with_truth(cfg, seed=1))
    with tempfile.TemporaryDirectory() as tmp:
        _, t_csv = _timed("write csv (tables + truth)", lambda: truth.write(f"{tmp}/csv", format="csv"))
        _, t_pq = _timed("write parquet (tables + truth)", lambda: truth.write(f"{tmp}/pq", format="parquet"))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'process peak RSS':<44} {rss:7.1f} MiB")
    print(f"all replays / factual world: {t_all / t_factual:5.1f}x for {len(replays) + 1} scenarios")
    print(
        f"all replays / {TARGET_S:.0f} s target: {t_all / TARGET_S:5.2f}  ({'OK' if t_all < TARGET_S else 'SLOW'})"
    )
    print(f"csv / parquet write time: {t_csv / t_pq:5.1f}x")
    rows = {k: len(v) for k, v in world.tables.items()}
    print("rows:", ", ".join(f"{k}={v}" for k, v in rows.items()))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
