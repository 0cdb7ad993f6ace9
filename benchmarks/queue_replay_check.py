"""Does the queue replay predict what a value queue really does? (issue #15)

For each seed: simulate a company whose SDRs work leads first come, first served (fifo) and the same
company (same seed, same dice) with a value queue; the true uplift is the difference in won revenue.
The replay sees only the fifo company's data and predicts the uplift of its value policy over fifo
with a 90% interval. Reports coverage (target: >= 80% of companies) and the rank correlation of
value per hour with value (effort differs: well below 1).

    .venv/bin/python benchmarks/queue_replay_check.py [--companies 10] [--accounts 800] [--first-seed 100]
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


def one(seed: int, accounts: int, root: Path) -> dict:
    fifo = simulate(SimulationConfig(accounts=accounts, queue_discipline="fifo"), seed=seed)
    value = simulate(SimulationConfig(accounts=accounts, queue_discipline="value"), seed=seed)
    truth = float(
        value.truth["scenarios"].iloc[0]["won_revenue"] - fifo.truth["scenarios"].iloc[0]["won_revenue"]
    )
    fifo.write(root / f"c{seed}", format="parquet")
    ws = Workspace.init(root / f"w{seed}")
    ws.import_(root / f"c{seed}")
    _, _, leads = score_workspace(ws)
    leads = leads.join(arrival_quality(ws), on="lead_id")
    history, reps, business = replay_facts(ws, leads)
    model = QueueReplay(policies=("value", "fifo"), replications=20, random_state=seed).fit(
        history, reps, business
    )
    up = model.uplift_.set_index("policy").loc["value"]
    ws.close()
    return {"seed": seed, "true_uplift": truth, "predicted": up["uplift"], "ci_low": up["ci_low"],
            "ci_high": up["ci_high"], "covered": up["ci_low"] <= truth <= up["ci_high"],
            "rho_value_vph": float(spearmanr(leads["value"], leads["value_per_hour"])[0])}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--companies", type=int, default=10)
    ap.add_argument("--accounts", type=int, default=800)
    ap.add_argument("--first-seed", type=int, default=100)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.first_seed, args.first_seed + args.companies):
            started = time.perf_counter()
            rows.append(one(seed, args.accounts, Path(tmp)))
            r = rows[-1]
            print(f"seed {seed}: true {r['true_uplift']:>12,.0f}  predicted {r['predicted']:>12,.0f} "
                  f"[{r['ci_low']:,.0f}, {r['ci_high']:,.0f}]  covered={r['covered']}  "
                  f"rho(value, value/h)={r['rho_value_vph']:.2f}  {time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    covered = sum(r["covered"] for r in rows)
    print(f"predicted uplift covered by the replay in {covered} of {len(rows)} companies (target >= 80%)")


if __name__ == "__main__":
    main()
