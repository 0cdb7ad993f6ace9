"""Contribution on a grid of simulated companies: coverage of the 90% intervals against the replayed truth.

Run by hand:  .venv/bin/python benchmarks/contribution_grid.py [--accounts 1500] [--seeds 3] [--only NAME ...]
              [--out per_world.csv]
Table only:   .venv/bin/python benchmarks/contribution_grid.py --table a.csv b.csv  (per-world files of several runs)

Each configuration of the simulator's named grid (`fairshare.simulate.grid`, from "marketing creates
demand" to "marketing mostly captures it", plain and confounded, flights and capacity changes always on,
holdouts in every other one) is simulated with `--seeds` seeds and replayed without marketing, each channel, SDR outbound, the
SDR team and AE work. Each world is imported into a fresh workspace and `fairshare.contribution.contribution`
runs with the `fairshare run` settings. Printed per unit (markdown, for docs/contribution.md): share of
worlds whose interval holds the truth, share identified, median relative error of the identified estimates,
intervals that exclude zero on the wrong side, bounds above the won revenue, and the seconds per world.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def grid(name: str = "contribution", only: list[str] | None = None) -> dict[str, dict]:
    """Named configurations of the simulator's grid (`fairshare.simulate.grid.GRIDS`), or the chosen ones."""
    from fairshare.simulate.grid import GRIDS

    return {k: v for k, v in GRIDS[name].items() if not only or k in only}


def grid_worlds(grid_name: str = "contribution", accounts: int = 1500, seeds: int = 1, first_seed: int = 100):
    """Every company of the grid with its truth (all standard replays), one at a time (the simgrid hook)."""
    from fairshare.simulate import simulate_with_truth
    from fairshare.simulate.grid import grid_points

    for point in grid_points(grid_name, accounts=accounts, seeds=seeds, first_seed=first_seed):
        yield point, simulate_with_truth(point.config, seed=point.seed)


#: Units without a replayed truth kept in the per-world file (the SDR team row is built from them).
PARTS = ("sdr_contact", "speed_to_lead")


def code_version() -> str:
    """The commit the estimates come from (with '+dirty' for uncommitted changes), stored on every row."""
    here = Path(__file__).parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=here).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + ("+dirty" if git("status", "--porcelain", "src") else "")


def one_world(name: str, accounts: int, seed: int, root: Path, version: str = "") -> pd.DataFrame:
    """Estimates next to the truth for one configuration and seed (one row per unit with a truth, plus PARTS)."""
    from fairshare import Workspace
    from fairshare.contribution import contribution
    from fairshare.simulate import simulate_with_truth
    from fairshare.simulate.grid import grid_config

    world = simulate_with_truth(grid_config(name, accounts), seed=seed)  # every standard replay
    folder = root / f"{name}-{seed}"
    world.write(folder / "company", format="parquet")
    ws = Workspace.init(folder / "ws")
    ws.import_(folder / "company")
    est = contribution(ws, random_state=seed)
    ws.close()
    inc = world.truth["incremental"].set_index("unit")
    rows = []
    for rec in est.to_dict(orient="records"):
        unit = rec["unit"] if rec["key"] in ("all", "accounts") else f"{rec['unit']}:{rec['key']}"
        unit = rec["unit"] if rec["unit"] in PARTS else unit
        if unit not in inc.index and unit not in PARTS:
            continue
        truth = (
            inc.loc[unit]
            if unit in inc.index
            else pd.Series(np.nan, ["incremental_revenue", "incremental_expected_revenue", "factual_revenue"])
        )
        rows.append({"config": name, "seed": seed, "unit": unit, "truth": float(truth["incremental_revenue"]),
                     "expected_truth": float(truth["incremental_expected_revenue"]),
                     "won": float(truth["factual_revenue"]), "estimate": rec["estimate"],
                     "ci_low": rec["ci_low"], "ci_high": rec["ci_high"], "identified": bool(rec["identified"]),
                     "method": rec["method"], "commit": version})  # fmt: skip
    return pd.DataFrame(rows)


def coverage_table(per_world: pd.DataFrame) -> pd.DataFrame:
    """Per unit: coverage, identified share, median relative error, wrong-side zero exclusions, bounds above won.

    The relative error's median is over the rows that carry an estimate (identified rows, and AE's assumed
    baseline); a row that is not identified has no estimate and counts in `identified`, not in the error."""
    per_world = per_world.loc[per_world["truth"].notna()]
    d = per_world.assign(
        covered=(per_world.ci_low <= per_world.truth) & (per_world.truth <= per_world.ci_high),
        covered_expected=(per_world.ci_low <= per_world.expected_truth) & (per_world.expected_truth <= per_world.ci_high),
        rel_error=(per_world.estimate - per_world.truth).abs() / per_world.truth.abs(),
        wrong_side=((per_world.ci_low > 0) & (per_world.truth < 0)) | ((per_world.ci_high < 0) & (per_world.truth > 0)),
        above_won=per_world.ci_high > per_world.won * (1 + 1e-9),
    )  # fmt: skip
    unit = d["unit"].where(~d["unit"].str.startswith("channel:"), d["unit"])
    return d.groupby(unit).agg(
        worlds=("seed", "count"), coverage=("covered", "mean"), coverage_expected=("covered_expected", "mean"),
        identified=("identified", "mean"), with_estimate=("estimate", "count"),
        median_rel_error=("rel_error", "median"), wrong_side=("wrong_side", "sum"), above_won=("above_won", "sum"),
        mean_truth=("truth", "mean"), mean_estimate=("estimate", "mean"),
    )  # fmt: skip


def markdown(table: pd.DataFrame) -> str:
    lines = ["| unit | worlds | coverage | coverage (expected truth) | identified | median rel. error (rows with an estimate) | wrong-side zero exclusions | bounds above won | mean truth | mean estimate |",
             "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for unit, r in table.iterrows():
        err = "n/a" if pd.isna(r.median_rel_error) else f"{r.median_rel_error:.2f} ({int(r.with_estimate)})"
        est = "n/a" if pd.isna(r.mean_estimate) else f"{r.mean_estimate / 1e6:.2f}M"
        lines.append(f"| {unit} | {int(r.worlds)} | {r.coverage:.2f} | {r.coverage_expected:.2f} | {r.identified:.2f} | {err} | {int(r.wrong_side)} | "
                     f"{int(r.above_won)} | {r.mean_truth / 1e6:.2f}M | {est} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1500)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--grid", default="contribution")
    parser.add_argument("--only", nargs="*", help="configuration names (default: all)")
    parser.add_argument(
        "--out", type=Path, help="write the per-world rows here (CSV); an existing file is resumed"
    )
    parser.add_argument(
        "--table", nargs="+", type=Path, help="only print the table from these per-world files"
    )
    args = parser.parse_args()
    if args.table:
        report(pd.concat([pd.read_csv(f) for f in args.table], ignore_index=True), "per-world files: "
               + ", ".join(map(str, args.table)))  # fmt: skip
        return
    warnings.filterwarnings("ignore")
    configs = grid(args.grid, args.only)
    frames, started = [], time.perf_counter()
    if args.out is not None and args.out.exists():  # resume: keep the worlds already measured
        frames.append(pd.read_csv(args.out))
    done = set(zip(frames[0]["config"], frames[0]["seed"], strict=True)) if frames else set()
    version = code_version()  # the code this process loaded, whatever is committed while it runs
    with tempfile.TemporaryDirectory(prefix="fairshare-grid-") as tmp:
        for seed in range(
            args.first_seed, args.first_seed + args.seeds
        ):  # every configuration once, then again
            for name in configs:
                if (name, seed) in done:
                    continue
                t0 = time.perf_counter()
                frames.append(one_world(name, args.accounts, seed, Path(tmp), version))
                if args.out:
                    pd.concat(frames, ignore_index=True).to_csv(args.out, index=False)
                print(f"{name} seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
    per_world = pd.concat(frames, ignore_index=True)
    per_world = per_world.loc[per_world["config"].isin(list(configs))]
    minutes = (time.perf_counter() - started) / 60
    report(
        per_world,
        f"{len(configs)} configurations x {args.seeds} seeds x {args.accounts} accounts, {minutes:.0f} min",
    )


def report(per_world: pd.DataFrame, title: str) -> None:
    """Print the per-world rows and the coverage tables (markdown)."""
    pd.set_option("display.width", 220)
    pd.set_option("display.max_rows", 1000)
    print(per_world.round(0).to_string(index=False))
    worlds = per_world[["config", "seed"]].drop_duplicates()
    print(f"\n{title}; {len(worlds)} worlds finished ({worlds.config.nunique()} configurations, seeds "
          f"{sorted(worlds.seed.unique().tolist())}); 90% intervals\n")  # fmt: skip
    print(markdown(coverage_table(per_world)))
    channels = per_world.loc[per_world.unit.str.startswith("channel:")]
    if len(channels):
        print("\nall channels together:")
        print(markdown(coverage_table(channels.assign(unit="channel (all)"))))
    marketing = per_world.loc[per_world.unit == "marketing"]
    ident = marketing.loc[marketing.identified.astype(bool)]
    err = (ident.estimate - ident.truth).abs() / ident.truth.abs()
    print(f"\nmarketing: identified in {len(ident)} of {len(marketing)} worlds; median relative error over the identified "
          f"ones {err.median() if len(ident) else float('nan'):.3f} (not identified rows carry no estimate)")  # fmt: skip


if __name__ == "__main__":
    main()
