"""Attribution speed and memory: fairshare vs ChannelAttribution, measured in the same run.

    .venv/bin/python benchmarks/attribution_bench.py [--journeys 1000000] [--channels 12] [--skip-peer]

Generates a deterministic path table (journeys follow a first-order chain over the channels;
conversion depends on the channels touched) and writes it as CSV. First, whole processes: the
`fairshare attribute --paths FILE` command (start-up, reading the CSV, the model, printing) against
a Python process that reads the same CSV with pandas and runs ChannelAttribution's markov_model;
wall seconds and peak RSS of each process (wait4's ru_maxrss), best of `--repeat` runs. Then each
model in-process, in its own subprocess, with wall seconds (parsing the " > " path strings
included, reading the file not) and peak RSS. ChannelAttribution (GPL-3) is installed only into a throw-away virtualenv created here
(`--peer-venv DIR` re-uses one) and called in a subprocess; fairshare never imports it.
Printed: seconds, peak RSS, RSS added by the task, ratios, and the largest share difference
between fairshare's exact Markov solution and ChannelAttribution's simulation.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

FAIRSHARE_TASKS = ["markov_1", "markov_3", "shapley", "rules", "all_rules"]
PEER_RULES = ["first_touch", "last_touch", "linear"]  # what ChannelAttribution's heuristic_models computes
RULES = ["first_touch", "last_touch", "last_non_direct", "linear", "u_shaped", "w_shaped", "full_path"]

#: Peak-memory probe shared by both sides: reset Linux's peak-RSS mark (clear_refs) after the data is
#: loaded, then read the new peak (VmHWM) after the task; "added" = peak - RSS at the reset.
MEMORY_PROBE = r"""
import gc

def rss_mb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")

def reset_peak():
    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return rss_mb("VmRSS")
"""

#: The whole peer process: read the CSV, run the model, print the result (what a user runs).
PEER_PROCESS = r"""
import sys
import pandas as pd
import ChannelAttribution as ca
frame = pd.read_csv(sys.argv[2])
res = ca.markov_model(frame, "path", "total_conversions", var_value="total_conversion_value",
                      var_null="total_null", order=int(sys.argv[1]), verbose=False, flg_pro=False)
print(res.to_csv(index=False))
"""

PEER_SCRIPT = (
    MEMORY_PROBE
    + r"""
import json, sys, time
import pandas as pd
task, data = sys.argv[1], sys.argv[2]
frame = pd.read_csv(data)
import ChannelAttribution as ca
base = reset_peak()
start = time.perf_counter()
if task == "heuristic":
    res = ca.heuristic_models(frame, "path", "total_conversions", var_value="total_conversion_value", flg_pro=False)
    shares = {m: dict(zip(res["channel_name"], res[m + "_conversions"] / res[m + "_conversions"].sum()))
              for m in ("first_touch", "last_touch", "linear_touch")}
else:
    order = int(task.split("_")[1])
    res = ca.markov_model(frame, "path", "total_conversions", var_value="total_conversion_value",
                          var_null="total_null", order=order, verbose=False, flg_pro=False)
    shares = {task: dict(zip(res["channel_name"], res["total_conversions"] / res["total_conversions"].sum()))}
seconds = time.perf_counter() - start
peak = rss_mb("VmHWM")
print(json.dumps({"seconds": seconds, "peak_mb": peak, "added_mb": peak - base, "shares": shares}))
"""
)


def generate(n_journeys: int, n_channels: int, seed: int) -> pd.DataFrame:
    """A ChannelAttribution-style path table from `n_journeys` simulated journeys (deterministic)."""
    rng = np.random.default_rng(seed)
    names = np.array([f"ch{c:02d}" for c in range(n_channels)])
    popularity = rng.dirichlet(np.full(n_channels, 1.5))
    transition = 0.5 * popularity + 0.5 * rng.dirichlet(np.full(n_channels, 0.7), size=n_channels)
    cumulative = np.cumsum(transition, axis=1)
    effect = rng.normal(0.3, 0.4, n_channels)
    max_len = 12
    lengths = np.minimum(rng.geometric(0.3, n_journeys), max_len)
    steps = np.full((n_journeys, max_len), -1, dtype=np.int64)
    state = rng.choice(n_channels, size=n_journeys, p=popularity)
    steps[:, 0] = state
    for s in range(1, max_len):
        u = rng.random(n_journeys)
        state = np.minimum((cumulative[state] < u[:, None]).sum(axis=1), n_channels - 1)
        steps[:, s] = np.where(s < lengths, state, -1)
    touched = np.zeros((n_journeys, n_channels), dtype=bool)
    for s in range(max_len):
        ok = steps[:, s] >= 0
        touched[np.flatnonzero(ok), steps[ok, s]] = True
    logit = -2.5 + touched @ effect + 0.05 * lengths
    converted = rng.random(n_journeys) < 1 / (1 + np.exp(-logit))
    value = np.where(converted, rng.lognormal(3.0, 0.5, n_journeys), 0.0)
    label = np.where(steps >= 0, names[np.maximum(steps, 0)], "")
    paths = [" > ".join(row[:n]) for row, n in zip(label.tolist(), lengths.tolist(), strict=True)]
    frame = pd.DataFrame({"path": paths, "conv": converted.astype(np.int64), "value": value})
    return (
        frame.groupby("path", sort=True)
        .agg(
            total_conversions=("conv", "sum"),
            total_conversion_value=("value", "sum"),
            total_null=("conv", "size"),
        )
        .assign(total_null=lambda f: f["total_null"] - f["total_conversions"])
        .reset_index()
    )


def worker(task: str, data: str) -> None:
    """Run one fairshare task on the path table in `data` and print seconds, memory and shares as JSON."""
    from fairshare.attribution import Paths, attribute

    probe: dict = {}
    exec(MEMORY_PROBE, probe)
    frame = pd.read_parquet(data)
    base = probe["reset_peak"]()
    start = time.perf_counter()
    paths = Paths.from_frame(frame)
    if task in ("rules", "all_rules"):
        result = pd.concat([attribute(paths, m) for m in (PEER_RULES if task == "rules" else RULES)])
    elif task.startswith("markov_"):
        result = attribute(paths, "markov", order=int(task.split("_")[1]))
    else:
        result = attribute(paths, task)
    seconds = time.perf_counter() - start
    peak = probe["rss_mb"]("VmHWM")
    shares = {m: dict(zip(g["key"], g["share"], strict=True)) for m, g in result.groupby("model")}
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "added_mb": peak - base, "shares": shares}))


def run(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed_process(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (user + system) of one whole process (output
    discarded). On a shared machine the CPU seconds are the steadier comparison.

    GNU time reports the peak: this process's own wait4 would count the memory the child inherited
    at fork (Linux keeps the high-water mark across exec), i.e. this script's generated table.
    """
    start = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "peak_kb=%M cpu=%U+%S", *cmd], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, check=False)  # fmt: skip
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])} failed:\n{out.stderr[-2000:]}")
    peak, cpu = out.stderr.strip().splitlines()[-1].split()
    user, system = cpu.removeprefix("cpu=").split("+")
    return seconds, int(peak.removeprefix("peak_kb=")) / 1024, float(user) + float(system)


def whole_processes(csv_file: Path, venv: Path | None, repeat: int) -> pd.DataFrame:
    """`fairshare attribute --paths` vs a ChannelAttribution process, whole processes, best of `repeat`."""
    cli = str(Path(sys.executable).with_name("fairshare"))
    ours = {
        "markov_1": ["--order", "1", "--bootstrap", "0"],
        "markov_3": ["--order", "3", "--bootstrap", "0"],
        "markov_1+ci": ["--order", "1"],  # the default intervals ([attribution] bootstrap = 200)
        "markov_3+ci": ["--order", "3"],
    }
    rows = []
    peer: dict[int, tuple[float, float, float]] = {}
    for task, extra in ours.items():
        order = int(task.split("_")[1][0])
        if venv is not None and order not in peer:
            runs = [timed_process([str(venv / "bin" / "python"), "-c", PEER_PROCESS, str(order), str(csv_file)])
                    for _ in range(repeat)]  # fmt: skip
            peer[order] = (min(r[0] for r in runs), max(r[1] for r in runs), min(r[2] for r in runs))
        cmd = [cli, "attribute", "--paths", str(csv_file), "--model", "markov", *extra, "--format", "csv"]
        runs = [timed_process(cmd) for _ in range(repeat)]
        row = {"task": task, "fairshare_s": min(r[0] for r in runs), "fairshare_cpu_s": min(r[2] for r in runs),
               "fairshare_peak_mb": max(r[1] for r in runs)}  # fmt: skip
        if order in peer:
            row |= {"peer_s": peer[order][0], "peer_cpu_s": peer[order][2], "peer_peak_mb": peer[order][1],
                    "speedup": peer[order][0] / row["fairshare_s"],
                    "cpu_speedup": peer[order][2] / row["fairshare_cpu_s"],
                    "peak_ratio": row["fairshare_peak_mb"] / peer[order][1]}  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def peer_venv(path: Path | None, tmp: Path) -> Path:
    """A virtualenv with ChannelAttribution (created in `tmp` unless `path` already has one)."""
    if path is not None and (path / "bin" / "python").exists():
        return path
    venv = path or tmp / "peer-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    start = time.perf_counter()
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "ChannelAttribution",
         "matplotlib"],  # ChannelAttribution 2.2.5 imports matplotlib but does not declare it
        check=True,
    )  # fmt: skip
    print(f"installed ChannelAttribution into a throw-away venv in {time.perf_counter() - start:.0f} s")
    return venv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-peer", action="store_true", help="fairshare only")
    parser.add_argument("--peer-venv", type=Path, default=None, help="re-use this ChannelAttribution venv")
    parser.add_argument("--data", type=Path, default=None,
                        help="keep the generated path table in this folder (re-used when already there)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="whole-process runs per task (best is kept)")
    parser.add_argument("--whole-only", action="store_true", help="only the whole-process comparison")
    parser.add_argument("--worker", nargs=2, metavar=("TASK", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return

    tmp = Path(tempfile.mkdtemp(prefix="attribution-bench-"))
    try:
        data = args.data or tmp
        data.mkdir(parents=True, exist_ok=True)
        if not (data / "paths.csv").exists():
            start = time.perf_counter()
            generate(args.journeys, args.channels, args.seed).to_csv(data / "paths.csv", index=False)
            print(f"generated in {time.perf_counter() - start:.1f} s")
        table = pd.read_csv(data / "paths.csv")
        journeys = int(table["total_conversions"].sum() + table["total_null"].sum())
        print(f"{journeys:,} journeys, {len(table):,} distinct paths, {args.channels} channels, "
              f"{int(table['total_conversions'].sum()):,} conversions")  # fmt: skip
        table.to_parquet(tmp / "paths.parquet", index=False)
        del table
        venv = None if args.skip_peer else peer_venv(args.peer_venv, tmp)
        whole = whole_processes(data / "paths.csv", venv, args.repeat)
        with pd.option_context("display.width", 200, "display.max_columns", 20,
                               "display.float_format", "{:.2f}".format):  # fmt: skip
            print("whole processes (start-up, reading the CSV, model, output), best of", args.repeat,
                  "; the peer (ChannelAttribution) never computes intervals")  # fmt: skip
            print(whole.to_string(index=False))
        if args.whole_only:
            return
        ours = {
            t: run([sys.executable, __file__, "--worker", t, str(tmp / "paths.parquet")])
            for t in FAIRSHARE_TASKS
        }
        peer: dict[str, dict] = {}
        if venv is not None:
            for t in ("markov_1", "markov_3", "heuristic"):
                peer[t] = run([str(venv / "bin" / "python"), "-c", PEER_SCRIPT, t, str(data / "paths.csv")])
        report(ours, peer)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _max_diff(a: dict[str, float], b: dict[str, float]) -> float:
    return max(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))


def report(ours: dict[str, dict], peer: dict[str, dict]) -> None:
    rows = []
    pairs = {
        "markov_1": "markov_1",
        "markov_3": "markov_3",
        "rules": "heuristic",
        "shapley": None,
        "all_rules": None,
    }
    for task, r in ours.items():
        p = peer.get(pairs[task] or "")
        row = {"task": task, "fairshare_s": r["seconds"], "fairshare_peak_mb": r["peak_mb"],
               "fairshare_added_mb": r["added_mb"]}  # fmt: skip
        if p:
            row |= {"peer_s": p["seconds"], "peer_peak_mb": p["peak_mb"], "peer_added_mb": p["added_mb"],
                    "speedup": p["seconds"] / r["seconds"], "added_mem_ratio": r["added_mb"] / max(p["added_mb"], 1e-9)}  # fmt: skip
            if task.startswith("markov"):
                row["max_share_diff_pp"] = 100 * _max_diff(r["shares"][task], p["shares"][task])
            else:
                row["max_share_diff_pp"] = 100 * max(
                    _max_diff(r["shares"][ours_m], p["shares"][theirs_m])
                    for ours_m, theirs_m in (("first_touch", "first_touch"), ("last_touch", "last_touch"),
                                             ("linear", "linear_touch"))
                )  # fmt: skip
        rows.append(row)
    frame = pd.DataFrame(rows)
    with pd.option_context(
        "display.width", 200, "display.max_columns", 20, "display.float_format", "{:.2f}".format
    ):
        print(frame.to_string(index=False))
    print(
        "rules = first, last, linear (the peer's heuristic_models); all_rules = those + last non-direct, U, W,"
    )
    print("full path. added_mb = peak RSS during the task minus RSS before it (file already read).")
    goals = []
    if "markov_1" in peer:
        r = rows[0]
        goals.append(f"Markov order 1: {r['speedup']:.1f}x faster (goal >= 3x), "
                     f"{r['fairshare_added_mb']:.0f} MB vs {r['peer_added_mb']:.0f} MB added (goal <= half)")  # fmt: skip
    goals.append(f"Shapley exact, {len(next(iter(ours['shapley']['shares'].values())))} channels: "
                 f"{ours['shapley']['seconds']:.2f} s (goal <= 5 s)")  # fmt: skip
    print("\n".join(goals))


if __name__ == "__main__":
    main()
