"""`fairshare run` at growing company sizes: seconds and peak memory per area, and a chart.

    .venv/bin/python benchmarks/scale_curve.py --accounts 3000 10000 30000 100000 [--out DIR]
    .venv/bin/python benchmarks/scale_curve.py --chart DIR      # docs/img/scale-curve.png from DIR/*.json

Each size runs in its own process (so peak memory is that size's): simulate the company, write
it as Parquet, import it, `run` it. A sampler thread reads the process's RSS every 50 ms and keeps
the peak per stage (simulate, import, then each model area as the run's progress names it).
Results: one JSON per size in DIR (default benchmarks/results/scale).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Sampler:
    """Peak RSS per stage, sampled in a background thread."""

    def __init__(self) -> None:
        self.stage = "start"
        self.peaks: dict[str, float] = {}
        self.started: dict[str, float] = {}
        self.cpu: dict[str, float] = {}  # CPU seconds per stage: steadier than wall time on a shared machine
        self._cpu_at = time.process_time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.05):
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0.0), _rss_mb())

    def enter(self, stage: str) -> None:
        self.peaks[self.stage] = max(self.peaks.get(self.stage, 0.0), _rss_mb())
        now = time.process_time()
        self.cpu[self.stage] = self.cpu.get(self.stage, 0.0) + now - self._cpu_at
        self._cpu_at = now
        self.stage = stage
        self.started.setdefault(stage, time.perf_counter())

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def one_size(accounts: int, out: Path, seed: int = 0) -> dict:
    """Simulate, import and run one company of `accounts` accounts; write and return the record."""
    from fairshare import Workspace
    from fairshare.run import run
    from fairshare.simulate import SimulationConfig, simulate_with_truth

    seconds: dict[str, float] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix=f"scale-{accounts}-") as tmp, Sampler() as sampler:
        t0 = time.perf_counter()
        sampler.enter("simulate")
        world = simulate_with_truth(SimulationConfig(accounts=accounts), seed=seed,
                                    scenarios=("marketing_off", "sdr_off", "ae_off"))  # fmt: skip
        world.write(Path(tmp) / "company", format="parquet")
        rows = {name: len(frame) for name, frame in world.tables.items()} if hasattr(world, "tables") else {}
        del world
        seconds["simulate"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        sampler.enter("import")
        ws = Workspace.init(Path(tmp) / "ws")
        ws.import_(Path(tmp) / "company")
        seconds["import"] = time.perf_counter() - t1
        t2 = time.perf_counter()

        def progress(stage: str, done: int, total: int) -> None:
            sampler.enter(stage)

        manifest = run(ws, progress=progress, truth_dir=Path(tmp) / "company" / "truth")
        ws.close()
        seconds["run"] = time.perf_counter() - t2
        sampler.enter("end")
    record = {
        "accounts": accounts,
        "rows": rows,
        "seconds": seconds,
        "areas": [
            {
                "area": r["area"],
                "status": r["status"],
                "seconds": r["seconds"],
                "cpu_seconds": sampler.cpu.get(r["area"]),
                "peak_mb": sampler.peaks.get(r["area"]),
            }
            for r in manifest["log"]
        ],  # fmt: skip
        "cpu_seconds": {k: v for k, v in sampler.cpu.items() if k not in ("start", "end")},
        "peak_mb": {k: v for k, v in sampler.peaks.items() if k != "end"},
        "total_seconds": sum(seconds.values()),
        # 1, 5 and 15 minute load averages: the machine is shared, so wall times depend on them
        "load_average": {"before": load_before, "after": os.getloadavg()},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{accounts}.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record


def chart(folder: Path, png: Path) -> None:
    """CPU seconds and peak memory per area against accounts (matplotlib, log-log), saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = sorted((json.loads(p.read_text()) for p in folder.glob("*.json")), key=lambda r: r["accounts"])
    sizes = [r["accounts"] for r in records]
    areas = [a["area"] for a in records[-1]["areas"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    # CPU seconds: on a machine shared by several sessions wall times follow the load, CPU time much less
    for stage in ("simulate", "import"):
        left.plot(sizes, [r["cpu_seconds"][stage] for r in records], "--", marker="o", label=stage)
    for area in areas:
        secs = [next((a["cpu_seconds"] for a in r["areas"] if a["area"] == area), None) for r in records]
        left.plot(sizes, secs, marker="o", label=area)
        peaks = [next((a["peak_mb"] for a in r["areas"] if a["area"] == area), None) for r in records]
        right.plot(sizes, peaks, marker="o", label=area)
    left.plot(
        sizes, [sum(r["cpu_seconds"].values()) for r in records], "k-", lw=2, marker="s", label="end to end"
    )
    for ax, label in ((left, "CPU seconds"), (right, "peak RSS (MB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("simulated accounts")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=7, ncol=2)
    left.set_title("fairshare run: CPU time per area")
    right.set_title("peak memory while each area runs")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="*", default=[3000, 10000, 30000, 100000])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "scale")
    parser.add_argument("--chart", type=Path, help="only draw docs/img/scale-curve.png from this folder")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.chart:
        chart(args.chart, ROOT / "docs" / "img" / "scale-curve.png")
        return
    if args.one:
        print(json.dumps(one_size(args.one, args.out)))
        return
    for n in args.accounts:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--out", str(args.out)], check=False
        )
        print(f"{n:,} accounts: exit {done.returncode} after {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
