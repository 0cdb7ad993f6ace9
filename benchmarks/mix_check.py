"""The marketing-mix strategy against the simulator grid's replayed truth.

Run by hand:  .venv/bin/python benchmarks/mix_check.py [--accounts 1500] [--seeds 3] [--grid contribution]

Each grid company (organic_arrival_share 0 .. 0.8, plain and confounded, regional budget flights, holdouts in
every other one) is simulated with its marketing_off and channel_off replays, imported into a fresh
workspace, and `mix_strategies` is compared with the true incremental won revenue (factual - replay, same
seed) and the true incremental expected revenue (less noisy). Also printed: the marketing-sourced won revenue
(what the old estimate counted in full). Prints per-world rows and the coverage table.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def one_world(name: str, config, seed: int, root: Path) -> pd.DataFrame:
    from fairshare import Workspace
    from fairshare.contribution.mix import mix_strategies
    from fairshare.simulate import simulate_with_truth

    scenarios = ("marketing_off", *(f"channel_off:{c}" for c in config.channels))
    world = simulate_with_truth(config, seed=seed, scenarios=scenarios)
    folder = root / f"{name}-{seed}"
    world.write(folder / "company", format="parquet")
    ws = Workspace.init(folder / "ws")
    ws.import_(folder / "company")
    t0 = time.perf_counter()
    est = mix_strategies(ws, random_state=seed)
    seconds = time.perf_counter() - t0
    opps = world.tables["opportunities"]
    sourced = float(
        opps.loc[opps["is_won"].fillna(False) & opps["source_team"].eq("marketing"), "amount"].sum()
    )
    ws.close()
    inc = world.truth["incremental"].set_index("unit")
    rows = []
    for rec in est.to_dict(orient="records"):
        unit = "marketing" if rec["unit"] == "marketing" else f"channel:{rec['key']}"
        if unit not in inc.index:
            continue
        rows.append({
            "config": name, "seed": seed, "unit": unit, "truth": float(inc.at[unit, "incremental_revenue"]),
            "expected_truth": float(inc.at[unit, "incremental_expected_revenue"]),
            "truth_leads": float(inc.at[unit, "incremental_leads"]), "estimate": rec["estimate"],
            "ci_low": rec["ci_low"], "ci_high": rec["ci_high"], "lost": rec["lost"], "identified": rec["identified"],
            "lift": rec["lift_estimate"], "mix": rec["mix_estimate"],
            "sourced": sourced if unit == "marketing" else np.nan, "seconds": seconds,
        })  # fmt: skip
    return pd.DataFrame(rows)


def coverage_table(d: pd.DataFrame) -> pd.DataFrame:
    d = d.assign(
        covered=(d.ci_low <= d.truth) & (d.truth <= d.ci_high),
        covered_expected=(d.ci_low <= d.expected_truth) & (d.expected_truth <= d.ci_high),
        rel_error=(d.estimate - d.truth).abs() / d.truth.abs(),
        rel_error_expected=(d.estimate - d.expected_truth).abs() / d.expected_truth.abs(),
        sourced_rel_error=(d.sourced - d.truth).abs() / d.truth.abs(),
    )
    return d.groupby("unit").agg(
        worlds=("seed", "size"), identified=("identified", "mean"), coverage=("covered", "mean"),
        coverage_expected=("covered_expected", "mean"), median_rel_error=("rel_error", "median"),
        median_rel_error_expected=("rel_error_expected", "median"), mean_truth=("truth", "mean"),
        mean_expected_truth=("expected_truth", "mean"), mean_estimate=("estimate", "mean"),
        sourced_median_rel_error=("sourced_rel_error", "median"),
    )  # fmt: skip


def main() -> None:
    from fairshare.simulate.grid import grid_points

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--accounts", type=int, default=1500)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--grid", default="contribution")
    p.add_argument("--out", default=None, help="write the per-world rows to this CSV")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        for point in grid_points(args.grid, accounts=args.accounts, seeds=args.seeds):
            t0 = time.perf_counter()
            frames.append(one_world(point.name, point.config, point.seed, Path(tmp)))
            m = frames[-1].query("unit == 'marketing'").iloc[0]
            print(f"{point.name} seed {point.seed}: marketing {m.estimate / 1e6:.2f}M [{m.ci_low / 1e6:.2f}, "
                  f"{m.ci_high / 1e6:.2f}] identified={m.identified} truth {m.truth / 1e6:.2f}M (expected "
                  f"{m.expected_truth / 1e6:.2f}M), sourced {m.sourced / 1e6:.2f}M, lift {m.lift / 1e6:.2f}M "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip
    per = pd.concat(frames, ignore_index=True)
    if args.out:
        per.to_csv(args.out, index=False)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 20)
    print(coverage_table(per).round(3).to_string())
    ident = per.loc[per.identified]
    if len(ident):
        print("\nidentified rows only:")
        print(coverage_table(ident).round(3).to_string())


if __name__ == "__main__":
    main()
