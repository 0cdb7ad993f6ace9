"""Spend → bookings what-ifs against budget-change replays of the same simulated company.

Run by hand:  .venv/bin/python benchmarks/forecast_whatif.py [--accounts 1500] [--seeds 3] [--day 365]
              [--worlds default,grid:arrive00-plain] [--changes paid_search*2,events*0,...]

For each seed and budget change, the simulator replays the company with the channel's spend times the
factor from `--day` on (`budget:<channel>*<factor>@<day>`: identical before that day). The what-if is
made on the factual company as of that day (only data known then) and its P10-P90 is compared with
the bookings the replay actually made in each of the next two quarters; the change it predicts
(delta P10-P90) with the replay minus the factual bookings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import pandas as pd

CHANGES = {"paid_search*2": ("paid_search", "+100%"), "events*0": ("events", "-100%"),
           "paid_social*1.5": ("paid_social", "+50%"), "email*0.5": ("email", "-50%"),
           "webinar*1.3": ("webinar", "+30%")}  # fmt: skip


def booked(opps: pd.DataFrame, start, end) -> float:
    won = opps[opps["is_won"].fillna(False).astype(bool)]
    at = pd.to_datetime(won["closed_at"], utc=True).dt.tz_localize(None)
    return float(won.loc[(at >= pd.Timestamp(start)) & (at < pd.Timestamp(end)), "amount"].sum())


def one_seed(name: str, accounts: int, seed: int, day: int, root: Path, changes: list[str]) -> pd.DataFrame:
    from fairshare import Workspace
    from fairshare.forecast.whatif import budget_changes, spend_whatif
    from fairshare.simulate import SimulationConfig, simulate_with_truth
    from fairshare.simulate.grid import grid_config

    if name.startswith("grid:"):
        cfg = grid_config(name[5:], accounts=accounts, days=day + 200)
    else:
        cfg = SimulationConfig(accounts=accounts, days=day + 200)
    scenarios = [f"budget:{k}@{day}" for k in changes]
    world = simulate_with_truth(cfg, seed=seed, scenarios=scenarios, keep_replays=True)
    folder = root / f"{name.replace(':', '_')}-{seed}"
    world.write(folder / "company", format="parquet")
    ws = Workspace.init(folder / "ws")
    ws.import_(folder / "company")
    as_of = pd.Timestamp(cfg.start) + pd.Timedelta(days=day)
    rows = []
    for key in changes:
        channel, change = CHANGES[key]
        table = spend_whatif(ws, budget_changes([f"{channel}={change}"]), as_of=as_of, periods=2, n_draws=2000,
                             random_state=seed)  # fmt: skip
        replay = world.replays[f"budget:{key}@{day}"]["opportunities"]
        for r in table.to_dict(orient="records"):
            y, q = int(r["period"][:4]), int(r["period"][-1])
            start = dt.datetime(y, 3 * q - 2, 1)
            end = dt.datetime(y + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
            if pd.Timestamp(end) > pd.Timestamp(cfg.start) + pd.Timedelta(days=cfg.days):
                continue
            factual = booked(world.tables["opportunities"], start, end)
            replayed = booked(replay, start, end)
            rows.append({**r, "world": name, "seed": seed, "scenario": key, "factual": factual, "replayed": replayed,
                         "covered": r["p10"] <= replayed <= r["p90"],
                         "base_covered": r["base_p10"] <= factual <= r["base_p90"],
                         "delta_true": replayed - factual,
                         "delta_covered": r["delta_p10"] <= replayed - factual <= r["delta_p90"]})  # fmt: skip
    ws.close()
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1500)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--day", type=int, default=365, help="day of the budget change (365: 2026-01-01)")
    ap.add_argument(
        "--worlds", default="default", help="default and/or grid:<configuration>, comma-separated"
    )
    ap.add_argument("--changes", default="paid_search*2,events*0,paid_social*1.5")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--out", default="", help="write every case to this CSV")
    args = ap.parse_args()
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for world in args.worlds.split(","):
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                t = time.perf_counter()
                out.append(one_seed(world, args.accounts, seed, args.day, Path(tmp), args.changes.split(",")))
                print(f"{world} seed {seed}: {time.perf_counter() - t:.0f} s", flush=True)
    res = pd.concat(out, ignore_index=True)
    pd.set_option("display.width", 220)
    if args.out:
        res.to_csv(args.out, index=False)
    cols = ["world", "seed", "scenario", "route", "period", "factual", "replayed", "base_p50", "p10", "p50", "p90", "delta_true",
            "delta_p10", "delta_p50", "delta_p90", "covered", "delta_covered"]  # fmt: skip
    print(res[cols].round(0).to_string(index=False))
    print(f"\nreplayed bookings inside the what-if P10-P90: {res['covered'].mean():.0%} of {len(res)}")
    print(f"true change inside the delta P10-P90: {res['delta_covered'].mean():.0%}")
    print(f"factual bookings inside the base P10-P90: {res['base_covered'].mean():.0%}")
    print(res.groupby("route")["covered"].agg(["mean", "size"]).to_string())
    print(f"response: {res['response'].iloc[0]} (first case)")


if __name__ == "__main__":
    main()
