"""Does the queue replay predict what a value queue really does? (issue #15)

Each company is simulated twice with the same seed (same arrivals, same dice): SDRs take waiting
leads first come, first served (fifo), and by value (`queue_discipline = "value"`). The true
uplift is the difference in won revenue. The product sees only the fifo company's data: it fits
the lead model, replays the observed lead flow with each rep's measured capacity
(`QueueReplay`) and predicts the value policy's uplift over fifo with a 90% interval.

The companies vary the seed, SDR capacity (`sdr_leads_per_day`: tight, default, and loose enough
that the queue does not bind, where the true uplift is about 0) and the spread of lead value
(`amount_size_elasticity`). The simulator's value queue ranks on what a model could see (observed
fit, size) and counts one slot per lead whatever its effort; the product's ranks on its own value
per modelled hour: the two disagree on purpose, as a real team's queue and the model would.

    nice -n 10 .venv/bin/python benchmarks/queue_check.py [--accounts 800] [--replications 20] [--only N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from scipy.stats import spearmanr

from fairshare import Workspace
from fairshare.routing import QueueReplay, replay_facts
from fairshare.scoring import arrival_quality, score_workspace
from fairshare.simulate import SimulationConfig, simulate

#: (seed, SDR leads per business day, amount size elasticity): tight, default and loose queues
COMPANIES = [
    (100, 0.7, 0.45), (101, 0.7, 0.45), (102, 0.5, 0.45), (103, 0.5, 0.45), (104, 0.7, 0.8),
    (105, 0.5, 0.8), (106, 0.7, 0.2), (107, 0.5, 0.2), (108, 4.0, 0.45), (109, 4.0, 0.8),
    (110, 4.0, 0.45), (111, 0.7, 0.45),
]  # fmt: skip


def one(seed: int, per_day: float, elasticity: float, accounts: int, replications: int, root: Path) -> dict:
    knobs = {"accounts": accounts, "sdr_leads_per_day": per_day, "amount_size_elasticity": elasticity}
    fifo = simulate(SimulationConfig(**knobs, queue_discipline="fifo"), seed=seed)
    value = simulate(SimulationConfig(**knobs, queue_discipline="value"), seed=seed)
    f, v = fifo.truth["scenarios"].iloc[0], value.truth["scenarios"].iloc[0]
    truth = float(v["won_revenue"] - f["won_revenue"])
    fifo.write(root / f"c{seed}", format="parquet")
    ws = Workspace.init(root / f"w{seed}")
    try:
        ws.import_(root / f"c{seed}")
        _, _, leads = score_workspace(ws)
        leads = leads.join(arrival_quality(ws), on="lead_id")
        history, reps, business = replay_facts(ws, leads)
        model = QueueReplay(policies=("value", "fifo"), replications=replications, random_state=seed)
        model.fit(history, reps, business)
    finally:
        ws.close()
    up = model.uplift_.set_index("policy").loc["value"]
    return {"seed": seed, "per_day": per_day, "elasticity": elasticity, "true_uplift": truth,
            "true_expected": float(v["expected_revenue"] - f["expected_revenue"]),
            "fifo_revenue": float(f["won_revenue"]), "never_contacted": float(f["never_contacted_share"]),
            "predicted": float(up["uplift"]), "ci_low": float(up["ci_low"]), "ci_high": float(up["ci_high"]),
            "covered": bool(up["ci_low"] <= truth <= up["ci_high"]),
            "rho_value_vph": float(spearmanr(leads["value"], leads["value_per_hour"])[0])}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=800)
    ap.add_argument("--replications", type=int, default=20)
    ap.add_argument("--only", type=int, default=0, help="run only the first N companies")
    args = ap.parse_args()
    rows = []
    print("| seed | SDR leads/day | size elasticity | never contacted (fifo) | true uplift | "
          "predicted [90%] | covered | ρ(value, value/h) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for seed, per_day, elasticity in COMPANIES[: args.only or None]:
            started = time.perf_counter()
            r = one(seed, per_day, elasticity, args.accounts, args.replications, Path(tmp))
            rows.append(r)
            print(f"| {seed} | {per_day} | {elasticity} | {r['never_contacted']:.0%} | {r['true_uplift']:,.0f} | "
                  f"{r['predicted']:,.0f} [{r['ci_low']:,.0f}, {r['ci_high']:,.0f}] | "
                  f"{'yes' if r['covered'] else 'no'} | {r['rho_value_vph']:.2f} | "
                  f"<!-- {time.perf_counter() - started:.0f} s -->", flush=True)  # fmt: skip
    covered = sum(r["covered"] for r in rows)
    print(f"\npredicted uplift covered by the simulator's replay in {covered} of {len(rows)} companies "
          f"({covered / len(rows):.0%}; target >= 80%)")  # fmt: skip


if __name__ == "__main__":
    main()
