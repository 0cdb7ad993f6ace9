"""The simulator grid: generate every company with its truth (estimators plug in on top).

Run by hand:  .venv/bin/python benchmarks/contribution_grid.py [--grid contribution] [--accounts 1500]
              [--seeds 1] [--first-seed 100] [--out DIR] [--format parquet]

For each (configuration, seed) of `fairshare.simulate.grid.GRIDS[grid]` it simulates the company with
every standard replay (marketing_off, channel_off:<c>, sdr_off, sdr_outbound_off, ae_off) and prints the
truth table: won revenue, marketing-sourced won revenue and the true incremental revenue of marketing,
SDR outbound, the SDR team, AE and each channel (factual − replay, same seed). With --out every world is
written to <out>/<configuration>-s<seed>/ (canonical files + truth/) for an estimator to import.
`grid_worlds` is the hook an estimator benchmark iterates.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from fairshare.simulate import World, simulate_with_truth
from fairshare.simulate.grid import GridPoint, grid_points


def grid_worlds(grid: str = "contribution", accounts: int = 1500, seeds: int = 1,
                first_seed: int = 100) -> Iterator[tuple[GridPoint, World]]:  # fmt: skip
    """Every company of the grid with its truth (all standard replays), one at a time."""
    for point in grid_points(grid, accounts=accounts, seeds=seeds, first_seed=first_seed):
        yield point, simulate_with_truth(point.config, seed=point.seed)


def truth_row(point: GridPoint, world: World) -> dict:
    """Won revenue, marketing-sourced won revenue and true incremental revenue per unit of one company."""
    opps = world.tables["opportunities"]
    won = opps[opps.is_won]
    inc = world.truth["incremental"].set_index("unit")["incremental_revenue"]
    row = {"config": point.name, "seed": point.seed, "won": won.amount.sum(),
           "mkt_sourced": won[won.source_team == "marketing"].amount.sum()}  # fmt: skip
    for unit in ("marketing", "sdr_outbound", "sdr", "ae"):
        row[unit] = inc.get(unit, float("nan"))
    for unit, value in inc.items():
        if unit.startswith("channel:"):
            row[unit.removeprefix("channel:")] = value
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="contribution")
    parser.add_argument("--accounts", type=int, default=1500)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--out", type=Path, default=None, help="write every world to <out>/<config>-s<seed>/")
    parser.add_argument("--format", choices=("csv", "parquet"), default="parquet")
    args = parser.parse_args()
    rows = []
    started = time.perf_counter()
    for point, world in grid_worlds(args.grid, args.accounts, args.seeds, args.first_seed):
        if args.out is not None:
            world.write(args.out / f"{point.name}-s{point.seed}", format=args.format)
        rows.append(truth_row(point, world))
        print(f"{point.name} seed {point.seed}: {time.perf_counter() - started:.0f} s", flush=True)
    table = pd.DataFrame(rows)
    money = [c for c in table.columns if c not in ("config", "seed")]
    table[money] = (table[money] / 1e6).round(2)
    table["inc/sourced"] = (table.marketing / table.mkt_sourced).round(2)
    pd.set_option("display.width", 250)
    print(f"\n{args.grid}: {len(table)} companies x {args.accounts} accounts, revenue in M, "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    print(markdown(table))


def markdown(table: pd.DataFrame) -> str:
    """A pipe table (for docs) without the optional `tabulate` dependency."""
    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * table.shape[1]]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
