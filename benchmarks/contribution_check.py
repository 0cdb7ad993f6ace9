"""Incremental contribution against the simulator's replayed truth, over many seeds.

Run by hand:  .venv/bin/python benchmarks/contribution_check.py [--accounts 3000] [--seeds 20] [--full]
              [--queue-discipline fifo|lifo|priority] [--grid NAME]

Each seed simulates a company with replays (marketing off, each channel off, SDR off, AE off),
imports it into a fresh workspace, runs `fairshare.contribution.contribution` (the `fairshare run`
settings, or the smooth STACK.md learners with --full) and compares every estimate with the truth.
Prints the per-seed table and the coverage table: share of seeds whose 90% interval holds the truth,
median relative error, mean interval half-width relative to the truth, and the baseline of a naive
comparison (won revenue of exposed minus unexposed accounts, times the exposed count) measured in
the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def one_world(
    accounts: int,
    seed: int,
    root: Path,
    settings: dict | None,
    queue_discipline: str = "fifo",
    grid: str | None = None,
) -> pd.DataFrame:
    """Estimates and truth of one simulated world (one row per unit with a truth)."""
    from fairshare import Workspace
    from fairshare.contribution import contribution
    from fairshare.contribution.exposures import account_exposures, channel_column
    from fairshare.simulate import SimulationConfig, simulate_with_truth
    from fairshare.simulate.grid import grid_config

    cfg = (grid_config(grid, accounts, queue_discipline=queue_discipline) if grid
           else SimulationConfig(accounts=accounts, queue_discipline=queue_discipline))  # fmt: skip
    scenarios = (
        "marketing_off",
        *(f"channel_off:{c}" for c in cfg.channels),
        "sdr_off",
        "sdr_outbound_off",
        "ae_off",
    )
    world = simulate_with_truth(cfg, seed=seed, scenarios=scenarios)
    folder = root / f"w{seed}"
    world.write(folder / "company", format="parquet")
    ws = Workspace.init(folder / "ws")
    ws.import_(folder / "company")
    est = contribution(ws, settings=settings, random_state=seed)
    accts = account_exposures(ws)
    ws.close()
    inc = world.truth["incremental"].set_index("unit")
    truth = inc["incremental_revenue"]
    expected = inc.get("incremental_expected_revenue", truth)
    rows = []
    direct = est.attrs.get("direct", {})
    for rec in est.to_dict(orient="records"):
        name = rec["unit"] if rec["key"] in ("all", "accounts") else f"{rec['unit']}:{rec['key']}"
        if name not in truth:
            continue
        dose = accts["touches_paid"] if rec["unit"] == "marketing" else None
        if rec["unit"] == "channel":
            dose = accts[channel_column(rec["key"])]
        if rec["unit"] == "sdr":
            dose = accts["sdr_prospecting"]
        naive = np.nan
        if dose is not None:
            exposed = dose > 0
            if exposed.any() and (~exposed).any():
                y = accts["won_revenue"]
                naive = (y[exposed].mean() - y[~exposed].mean()) * exposed.sum()
        before = direct.get((rec["unit"], rec["key"]), (rec["estimate"], rec["ci_low"], rec["ci_high"]))
        rows.append({"seed": seed, "unit": name, "truth": float(truth[name]), "expected_truth": float(expected[name]),
                     "estimate": rec["estimate"], "ci_low": rec["ci_low"], "ci_high": rec["ci_high"], "naive": naive,
                     "direct": before[0], "direct_ci_low": before[1], "direct_ci_high": before[2]})  # fmt: skip
    return pd.DataFrame(rows)


def coverage_table(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Coverage, median relative error and the naive baseline's error per unit."""
    d = per_seed.assign(
        covered=(per_seed.ci_low <= per_seed.truth) & (per_seed.truth <= per_seed.ci_high),
        rel_error=(per_seed.estimate - per_seed.truth).abs() / per_seed.truth.abs(),
        naive_rel_error=(per_seed.naive - per_seed.truth).abs() / per_seed.truth.abs(),
        half_width=(per_seed.ci_high - per_seed.ci_low) / 2 / per_seed.truth.abs(),
    )
    return d.groupby("unit").agg(
        seeds=("seed", "count"), coverage=("covered", "mean"), median_rel_error=("rel_error", "median"),
        naive_median_rel_error=("naive_rel_error", "median"), mean_truth=("truth", "mean"),
        mean_estimate=("estimate", "mean"), median_half_width=("half_width", "median"),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--full", action="store_true", help="smooth learners: 500 trees (slower)")
    parser.add_argument("--queue-discipline", choices=("fifo", "lifo", "priority"), default="fifo",
                        help="how the simulated SDRs work their lead queue (the estimate is not told)")  # fmt: skip
    parser.add_argument("--grid", default=None, help="a configuration of fairshare.simulate.grid (e.g. "
                        "arrive60-confounded) instead of the default company")  # fmt: skip
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from fairshare.contribution import FULL_SETTINGS

    settings = FULL_SETTINGS if args.full else None
    frames = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fairshare-contribution-") as tmp:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            t0 = time.perf_counter()
            frames.append(
                one_world(args.accounts, seed, Path(tmp), settings, args.queue_discipline, args.grid)
            )
            print(f"seed {seed}: {time.perf_counter() - t0:.1f} s", flush=True)
    per_seed = pd.concat(frames, ignore_index=True)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 500)
    print(per_seed.round(0).to_string(index=False))
    table = coverage_table(per_seed)
    print(
        f"\n{args.seeds} seeds x {args.accounts} accounts, {time.perf_counter() - started:.0f} s; 90% intervals"
    )
    before = per_seed.assign(
        estimate=per_seed.direct, ci_low=per_seed.direct_ci_low, ci_high=per_seed.direct_ci_high
    )
    print(
        "BEFORE (per-account DML, no queue displacement) against the single-draw truth (incremental_revenue):"
    )
    print(coverage_table(before).round(3).to_string())
    print("\nAFTER (capacity-aware: per-account DML minus queue displacement) against the single-draw truth:")
    print(table.round(3).to_string())
    print("\nagainst the expected truth (incremental_expected_revenue: lead-level dice integrated out):")
    print("before:")
    print(coverage_table(before.assign(truth=per_seed.expected_truth)).round(3).to_string())
    print("after:")
    print(coverage_table(per_seed.assign(truth=per_seed.expected_truth)).round(3).to_string())
    top = (
        per_seed.loc[per_seed.unit.str.startswith("channel:")]
        .groupby("unit")["truth"]
        .mean()
        .nlargest(2)
        .index
    )
    key = table.loc[[u for u in ("marketing", "sdr", *top) if u in table.index]]
    print(
        "\nacceptance: coverage >= 0.8 for marketing, SDR and the two largest channels; marketing median rel. error <= 0.15"
    )
    print(key[["coverage", "median_rel_error"]].round(3).to_string())


if __name__ == "__main__":
    main()
