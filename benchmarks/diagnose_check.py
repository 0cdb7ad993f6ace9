"""The diagnosis against injected shocks: does `fairshare diagnose` name the cause the simulator injected?

Run by hand:  nice -n 10 .venv/bin/python benchmarks/diagnose_check.py [--accounts 2000] [--seeds 10]
              [--first-seed 500] [--shocks lead_quality,spend,...] [--out results.csv]

For every shock type (simulate/shocks.py) and seed it simulates a company with that shock from `AT` on, and its
replay without the shock (same dice), imports the shocked company into a fresh workspace and diagnoses the
last complete quarter (2025-Q4) against the one before. It also diagnoses unshocked companies of the same
seeds. Reported per shock type: how often the primary cause is the injected one ("no significant change" for
the unshocked), and how often the recommendation that restores the shocked factor has a 90% interval that
covers the replayed $ effect (shocked minus unshocked Q4 bookings).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import pandas as pd

from fairshare import Workspace
from fairshare.diagnose import diagnose_workspace
from fairshare.simulate import SimulationConfig, simulate, simulate_with_truth
from fairshare.simulate.shocks import SHOCKS_OFF, Shock, Shocks

AT = dt.date(2025, 8, 10)
AS_OF = pd.Timestamp("2025-12-31")
PERIOD = "2025-Q4"
#: shock → (size, the cause the diagnosis should name, the factor whose restoration it should value)
SHOCKS = {
    "lead_quality": (0.9, "lead generation", "lead_quality"),
    "spend": (1.0, "lead generation", "lead_volume"),
    "sdr_capacity": (0.9, "sales capacity", "coverage"),
    "ae_skill": (2.0, "sales execution", "conversion"),
    "deal_size": (0.6, "deal size", "deal_size"),
    "none": (0.0, "no significant change", ""),
}


def company(shock: str, accounts: int, seed: int, size: float | None = None):
    """(world, replayed Q4 effect of the shock) for one company."""
    if shock == "none":
        return simulate(SimulationConfig(accounts=accounts), seed=seed), 0.0
    size = SHOCKS[shock][0] if size is None else size
    cfg = SimulationConfig(accounts=accounts, shocks=Shocks(**{shock: Shock(at=AT, size=size)}))
    world = simulate_with_truth(cfg, seed=seed, scenarios=[SHOCKS_OFF])
    truth = world.truth["shocks"].set_index("period")
    return world, float(truth.loc[PERIOD, "effect"])


def check(shock: str, accounts: int, seed: int, root: Path) -> dict:
    """One company: the diagnosis's primary cause and the matching recommendation against the truth."""
    world, effect = company(shock, accounts, seed)
    folder = root / f"{shock}-{seed}"
    world.write(folder / "company", format="parquet")
    ws = Workspace.init(folder / "ws")
    try:
        ws.import_(folder / "company")
        model = diagnose_workspace(ws, as_of=AS_OF)
    finally:
        ws.close()
    _, cause, factor = SHOCKS[shock]
    recs = model.recommendations_
    rec = recs[recs["factor"] == factor] if factor else recs.iloc[0:0]
    row = {"shock": shock, "seed": seed, "expected": cause, "named": model.primary_cause_,
           "correct": model.primary_cause_ == cause, "replayed_effect": -effect,
           "bookings_change": model.result_["bookings"] - model.result_["previous_bookings"]}  # fmt: skip
    if len(rec):
        r = rec.iloc[0]
        row.update(rec_effect=r["effect"], rec_low=r["ci_low"], rec_high=r["ci_high"],
                   covered=bool(r["ci_low"] <= -effect <= r["ci_high"]))  # fmt: skip
    elif factor:
        row.update(rec_effect=float("nan"), rec_low=float("nan"), rec_high=float("nan"), covered=False)
    return row


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per shock type: companies, named correctly, recommendation intervals covering the replayed effect."""
    out = []
    for shock, g in rows.groupby("shock", sort=False):
        cov = g["covered"].dropna() if "covered" in g else pd.Series(dtype=bool)
        out.append({"shock": shock, "expected cause": g["expected"].iloc[0], "companies": len(g),
                    "named": f"{int(g['correct'].sum())}/{len(g)}",
                    "covered": f"{int(cov.sum())}/{len(cov)}" if len(cov) else "",
                    "median replayed $ effect": float(g["replayed_effect"].median()),
                    "wrong names": ", ".join(sorted(set(g.loc[~g["correct"], "named"])))})  # fmt: skip
    return pd.DataFrame(out)


def markdown(frame: pd.DataFrame) -> str:
    """A Markdown table (money rounded to whole units)."""
    cells = [
        [f"{v:,.0f}" if isinstance(v, float) else str(v) for v in row]
        for row in frame.itertuples(index=False)
    ]
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    return "\n".join(lines + ["| " + " | ".join(c) + " |" for c in cells])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=500)
    ap.add_argument("--shocks", default=",".join(SHOCKS))
    ap.add_argument("--out", type=Path, default=None, help="write the per-company rows here (CSV)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for shock in args.shocks.split(","):
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                t0 = time.perf_counter()
                row = check(shock, args.accounts, seed, Path(tmp))
                row["seconds"] = round(time.perf_counter() - t0, 1)
                rows.append(row)
                print({k: (round(v) if isinstance(v, float) and abs(v) > 10 else v) for k, v in row.items()},
                      flush=True)  # fmt: skip
                if args.out:
                    pd.DataFrame(rows).to_csv(args.out, index=False)
    print(markdown(summary(pd.DataFrame(rows))))


if __name__ == "__main__":
    main()
