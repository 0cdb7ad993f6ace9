"""Import, journeys and scorecard at 1M and 10M touches on DuckDB, PostgreSQL and Spark local.

    nice -n 10 .venv/bin/python benchmarks/backends.py [--touches 1000000 10000000]
        [--backends duckdb postgres spark] [--timeout 1200] [--out benchmarks/results/backends]

The 1M world is one simulated company (seed 0) with as many accounts as give ~1M touches; the
10M world is that company tiled ten times, every id prefixed with the copy's number (same shape,
ten times the rows, so 1M -> 10M is pure scaling). Each (size, backend) runs in its own process
group with a throw-away server (tests/backends/servers.py: PostgreSQL on a free port, a local
Spark session) and is stopped after `--timeout` seconds; steps finished by then are kept.

Per step: wall seconds, CPU seconds and peak memory of the process tree (this process, the JVM it
starts, and the PostgreSQL postmaster with its backends): CPU as utime + stime + the children's
reaped times from /proc, memory as the sum of PSS (shared pages counted once) sampled every 0.5 s.
Ratios against DuckDB at the same size are printed at the end of the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("import", "journeys", "scorecard")
TOUCHES_PER_ACCOUNT = 32.3  # the simulator's default company (measured: 32,338 touches for 1,000 accounts)
ID_COLUMNS = ("_id", "entity_id", "unit_id", "manager_id")
#: Spark gets both cores and room to work (the test suite's session is one core, 1 GB).
SPARK_CONF = {
    "spark.master": "local[2]",
    "spark.driver.memory": "4g",
    "spark.sql.shuffle.partitions": "8",
    "spark.default.parallelism": "2",
    "spark.sql.codegen.wholeStage": "true",
}


# --- the process tree: CPU and PSS from /proc --------------------------------------------------


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
    return kids


def _tree(roots: list[int]) -> list[int]:
    kids, out, todo = _children(), [], list(roots)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def _cpu_seconds(pids: list[int]) -> float:
    """utime + stime + cutime + cstime: a reaped child's time lives on in its parent's c-times."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15])
        except (OSError, IndexError, ValueError):
            continue
    return total / tick


def _pss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                total += next(int(line.split()[1]) for line in fh if line.startswith("Pss:"))
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024


def _postmaster(port: int) -> int | None:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"/postgres") and b"-p" in cmd and str(port).encode() in cmd:
                return int(entry)
    return None


class Meter:
    """Wall, CPU and peak PSS per step for the trees rooted at this process and `extra_roots`."""

    def __init__(self) -> None:
        self.roots = [os.getpid()]
        self.step = "setup"
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self.peak[self.step] = max(self.peak.get(self.step, 0.0), _pss_mb(_tree(self.roots)))

    def cpu(self) -> float:
        return _cpu_seconds(_tree(self.roots))

    def start(self) -> Meter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# --- the worlds ---------------------------------------------------------------------------------


def base_world(folder: Path, touches: int) -> dict[str, int]:
    """One simulated company with about `touches` touches, as canonical Parquet files."""
    from fairshare.simulate import SimulationConfig, simulate

    world = simulate(SimulationConfig(accounts=math.ceil(touches / TOUCHES_PER_ACCOUNT)), seed=0)
    folder.mkdir(parents=True)
    for name, frame in world.tables.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return {name: len(frame) for name, frame in world.tables.items()}


def tiled_world(base: Path, folder: Path, copies: int) -> dict[str, int]:
    """`copies` copies of the company in `base`, every id prefixed `k<copy>_` (set-based, in DuckDB)."""
    import duckdb

    folder.mkdir(parents=True)
    con, rows = duckdb.connect(), {}
    for path in sorted(base.glob("*.parquet")):
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()]
        ids = [c for c in cols if c.endswith(ID_COLUMNS)]
        parts = []
        for k in range(copies):
            replace = ", ".join(f'\'k{k}_\' || "{c}" AS "{c}"' for c in ids)
            parts.append(f"SELECT * {f'REPLACE ({replace})' if ids else ''} FROM read_parquet('{path}')")
        out = folder / path.name
        con.execute(f"COPY ({' UNION ALL '.join(parts)}) TO '{out}' (FORMAT parquet)")
        rows[path.stem] = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
    con.close()
    return rows


# --- one (size, backend) in its own process ----------------------------------------------------


def one(backend: str, folder: Path, record: Path) -> None:
    """Import `folder` into a new warehouse on `backend`, build journeys and the scorecard; write `record`."""
    sys.path.insert(0, str(ROOT / "tests"))
    from backends.servers import create_database, postgres_cluster
    from fairshare import Workspace, journeys, scorecard
    from fairshare.config import CONFIG_NAME

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: stop the servers on a timeout
    meter = Meter().start()
    out: dict = {"backend": backend, "steps": {}, "load_before": os.getloadavg()[0]}

    def save() -> None:
        record.write_text(json.dumps(out, indent=1))

    def timed(step: str, fn):
        meter.step = step
        out["running"] = step
        save()
        cpu0, t0 = meter.cpu(), time.perf_counter()
        value = fn()
        out["steps"][step] = {"wall_s": time.perf_counter() - t0, "cpu_s": meter.cpu() - cpu0,
                              "peak_mb": meter.peak.get(step, 0.0), **value}  # fmt: skip
        out.pop("running")
        save()

    with (
        tempfile.TemporaryDirectory(prefix=f"bench-{backend}-") as tmp,
        _server(backend, postgres_cluster) as url,
    ):
        if backend == "postgres":
            url = create_database(url, "bench")
            postmaster = _postmaster(int(url.rsplit(":", 1)[1].split("/")[0]))
            if postmaster is not None:
                meter.roots.append(postmaster)
        elif backend == "spark":
            from fairshare.sparkstore import spark_session

            spark_session(SPARK_CONF)
            url = f"pyspark://{Path(tmp) / 'spark'}"
        root = Path(tmp) / "ws"
        Workspace.init(root)
        if url:
            config = root / CONFIG_NAME
            config.write_text(
                config.read_text().replace('"duckdb:///{workspace}/fairshare.duckdb"', f'"{url}"')
            )
        ws = Workspace(root)
        timed("import", lambda: {"rows": sum(ws.import_(folder).rows.values())})
        timed("journeys", lambda: {"rows": len(journeys.journeys(ws, by="channel", stage="revenue"))})
        timed("scorecard", lambda: {"rows": len(scorecard.results(ws)["scorecard"])})
        ws.close()
    meter.stop()
    out["load_after"] = os.getloadavg()[0]
    save()


class _server:
    """The throw-away server for `backend` (PostgreSQL cluster; nothing for DuckDB and Spark)."""

    def __init__(self, backend: str, cluster) -> None:
        self.cm = cluster() if backend == "postgres" else None

    def __enter__(self) -> str:
        return self.cm.__enter__() if self.cm else ""

    def __exit__(self, *exc) -> None:
        if self.cm:
            self.cm.__exit__(*exc)


def run_one(backend: str, folder: Path, record: Path, timeout: float) -> dict:
    """`one` in a child process group, stopped (SIGTERM, then SIGKILL) after `timeout` seconds."""
    cmd = [sys.executable, __file__, "--one", backend, str(folder), str(record)]
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, start_new_session=True)
    try:
        code = child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        code = "timeout"
    data = json.loads(record.read_text()) if record.exists() else {"backend": backend, "steps": {}}
    data["exit"] = code
    data["total_wall_s"] = time.perf_counter() - t0
    if code == "timeout" and "running" in data:
        data["unfinished"] = f"{data['running']} not finished after {timeout:.0f} s in all"
    elif code != 0:
        data["unfinished"] = f"failed (exit {code}) in {data.get('running', 'setup')}"
    record.write_text(json.dumps(data, indent=1))
    return data


def table(results: dict[int, dict[str, dict]]) -> str:
    """Markdown: one row per size, backend and step; ratios against DuckDB at the same size."""
    lines = ["| touches | backend | step | rows | wall s | CPU s | peak MB | wall / DuckDB | CPU / DuckDB |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for size, by_backend in results.items():
        ref = by_backend.get("duckdb", {}).get("steps", {})
        for backend, data in by_backend.items():
            for step in STEPS:
                s = data["steps"].get(step)
                if s is None:
                    note = data.get("unfinished", "") if data.get("running") == step else "not reached"
                    lines.append(f"| {size:,} | {backend} | {step} | | {note} | | | | |")
                    continue
                r = ref.get(step)
                ratio = (f"{s['wall_s'] / r['wall_s']:.1f}x | {s['cpu_s'] / r['cpu_s']:.1f}x" if r and r["wall_s"]
                         and r["cpu_s"] else " | ")  # fmt: skip
                lines.append(f"| {size:,} | {backend} | {step} | {s.get('rows', 0):,} | {s['wall_s']:.1f} | "
                             f"{s['cpu_s']:.1f} | {s['peak_mb']:,.0f} | {ratio} |")  # fmt: skip
    return "\n".join(lines)


def scaling(results: dict[int, dict[str, dict]]) -> str:
    """Wall and CPU time of the largest size over the smallest, per backend and step."""
    sizes = sorted(results)
    if len(sizes) < 2:
        return ""
    small, large = results[sizes[0]], results[sizes[-1]]
    lines = [f"scaling {sizes[0]:,} -> {sizes[-1]:,} touches (x{sizes[-1] / sizes[0]:.0f} rows): wall, CPU"]
    for backend in small:
        for step in STEPS:
            a, b = small[backend]["steps"].get(step), large.get(backend, {}).get("steps", {}).get(step)
            if a and b:
                lines.append(f"  {backend:<8} {step:<10} {b['wall_s'] / a['wall_s']:5.1f}x  "
                             f"{b['cpu_s'] / max(a['cpu_s'], 1e-9):5.1f}x")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--touches", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--backends", nargs="+", default=["duckdb", "postgres", "spark"])
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per size and backend")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "backends")
    parser.add_argument("--largest-only", action="store_true", help="measure the largest size only")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one[0], Path(args.one[1]), Path(args.one[2]))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = sorted(args.touches)
    results: dict[int, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-worlds-") as tmp:
        base = Path(tmp) / f"touches-{sizes[0]}"
        t0 = time.perf_counter()
        rows = base_world(base, sizes[0])
        print(f"world of {rows['touches']:,} touches ({rows['accounts']:,} accounts) in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
        for size in sizes[-1:] if args.largest_only else sizes:
            folder = base
            if size != sizes[0]:
                folder = Path(tmp) / f"touches-{size}"
                tiled = tiled_world(base, folder, round(size / sizes[0]))
                print(
                    f"tiled world of {tiled['touches']:,} touches ({tiled['accounts']:,} accounts)",
                    flush=True,
                )
            results[size] = {}
            for backend in args.backends:
                record = args.out / f"{size}-{backend}.json"
                record.unlink(missing_ok=True)
                data = run_one(backend, folder, record, args.timeout)
                results[size][backend] = data
                done = ", ".join(f"{k} {v['wall_s']:.1f} s" for k, v in data["steps"].items())
                print(f"{size:>11,} {backend:<8} {done} {data.get('unfinished', '')}", flush=True)
    print(table(results))
    print(scaling(results))


if __name__ == "__main__":
    main()
