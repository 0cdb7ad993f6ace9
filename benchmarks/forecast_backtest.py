"""Bookings forecast backtest over a grid of simulated companies (configs x seeds).

Run by hand:  .venv/bin/python benchmarks/forecast_backtest.py [--accounts 1500] [--seeds 3]
              [--models deals,pipeline] [--configs default,slow_cycle,volatile] [--days 548]

Each world is simulated, imported into a fresh workspace and backtested with
`fairshare.forecast.backtest.Backtest` (every past quarter at 10, 30, 45, 60 days in, only the data
known then). Prints, per model, coverage of P10-P90 (nominal 80%), mean absolute % error of the P50
and of the reps' latest commits, CRPS and pinball loss (as shares of the actual), per config and
overall. Sized for the shared 2-core machine: 3 configs x 3 seeds at 1,500 accounts take ~10 min.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

CONFIGS = {
    "default": {},
    # long sales cycles: most of a quarter's bookings are already open pipeline at its start
    "slow_cycle": {"stage_days": (15.0, 20.0, 25.0, 18.0), "win_intercept": -2.0},
    # lumpy deals, reps who forecast badly, stronger skill differences
    "volatile": {"amount_noise": 0.7, "forecast_bias_sd": 0.4, "forecast_noise": 0.25, "ae_skill_sd": 0.8},
}


def world_config(name: str, accounts: int, days: int):
    """A named config of CONFIGS, or `grid:<name>` of the contribution grid (`fairshare.simulate.grid`)."""
    from fairshare.simulate import SimulationConfig
    from fairshare.simulate.grid import grid_config

    if name.startswith("grid:"):
        return grid_config(name[5:], accounts=accounts, days=days)
    return SimulationConfig(accounts=accounts, days=days, **CONFIGS[name])


def one_world(name: str, accounts: int, seed: int, days: int, root: Path, models: list[str]) -> pd.DataFrame:
    from fairshare import Workspace
    from fairshare.forecast.backtest import Backtest
    from fairshare.simulate import simulate_with_truth

    folder = root / f"{name.replace(':', '_')}-{accounts}-{seed}-{days}"
    if (folder / "ws").exists():  # a --cache folder: the same world, imported once
        ws = Workspace(folder / "ws")
    else:
        world = simulate_with_truth(world_config(name, accounts, days), seed=seed, scenarios=())
        world.write(folder / "company", format="parquet")
        ws = Workspace.init(folder / "ws")
        ws.import_(folder / "company")
    out = []
    for model in models:
        t = time.perf_counter()
        rows = Backtest(model=model, random_state=seed).fit(ws).result_
        out.append(rows.assign(config=name, seed=seed, model=model, seconds=time.perf_counter() - t))
    ws.close()
    return pd.concat(out, ignore_index=True)


def main() -> None:
    from fairshare.forecast.backtest import summarize_backtest

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1500)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--days", type=int, default=548, help="simulated days (548: six quarters)")
    ap.add_argument("--models", default="deals,pipeline")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--out", default="", help="write every backtest row to this CSV")
    ap.add_argument("--cache", default="", help="keep the simulated workspaces here and reuse them")
    ap.add_argument("--first-seed", type=int, default=1)
    args = ap.parse_args()
    models = args.models.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.cache or tmp)
        for name in args.configs.split(","):
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                t = time.perf_counter()
                rows.append(one_world(name, args.accounts, seed, args.days, root, models))
                print(f"{name} seed {seed}: {time.perf_counter() - t:.0f} s", flush=True)
    bt = pd.concat(rows, ignore_index=True)
    if args.out:
        bt.to_csv(args.out, index=False)
    pd.set_option("display.width", 200)
    for model in models:
        m = bt[bt["model"] == model]
        table = pd.concat([summarize_backtest(g).iloc[[-1]].assign(period=c) for c, g in m.groupby("config")]
                          + [summarize_backtest(m).iloc[[-1]]])  # fmt: skip
        table = table.rename(columns={"period": "config"})
        print(f"\nmodel {model}: {len(m)} forecasts, {m.groupby(['config', 'seed'])['seconds'].first().mean():.0f} s "
              "per world")  # fmt: skip
        print(table.round(3).to_string(index=False))
        by_offset = m.groupby("offset_days").agg(coverage=("covered", "mean"), p50_mape=("p50_error", "mean"),
                                                 commit_mape=("commit_error", "mean"))  # fmt: skip
        print(by_offset.round(3).to_string())


if __name__ == "__main__":
    main()
