"""Notes against the simulator's truth (run by hand: `nice -n 10 .venv/bin/python benchmarks/notes_check.py`).

Per seed: theme recovery (purity, adjusted Rand) against the known note themes; 5-fold CV AUC of
"won" with and without note features at several as-of days; Spearman of each rep factor with the
AE's true trait (closing skill, diligence, product knowledge, responsiveness).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import adjusted_rand_score

from fairshare import Workspace, notes, reps, scoring
from fairshare.simulate import SimulationConfig, simulate


def check(seed: int, accounts: int, aes: int, root: Path) -> dict:
    world = simulate(SimulationConfig(accounts=accounts, aes=aes, notes={"enabled": True}), seed=seed)
    world.write(root / f"c{seed}", format="parquet")
    ws = Workspace.init(root / f"w{seed}")
    ws.import_(root / f"c{seed}")
    model, inputs = notes.themes_of(ws)
    tagged = model.notes_.assign(at=pd.to_datetime(model.notes_["at"], utc=True))
    truth = world.truth["notes"].assign(at=lambda t: pd.to_datetime(t["at"], utc=True))
    j = tagged.merge(truth, on=["opportunity_id", "at"])
    table = pd.crosstab(j.theme_id, j.theme)
    row = {"seed": seed, "notes": len(tagged), "purity": table.max(axis=1).sum() / table.to_numpy().sum(),
           "ari": adjusted_rand_score(j.theme, j.theme_id)}  # fmt: skip
    for days in (7, 14, 30):
        auc = notes.evaluate(ws, days).set_index("model")["mean"]
        row[f"auc_with_{days}"], row[f"auc_without_{days}"] = auc["with_notes"], auc["without_notes"]
    leads = scoring.results(ws, {})["leads"]
    up = {"leads": leads, "reps": reps.results(ws, {"leads": leads})["reps"]}
    factors = notes.results(ws, up)["rep_factors"]
    traits = world.truth["rep_traits"].set_index("rep_id")
    for measure, trait, sign in (("ability", "closing_skill", 1), ("cadence_completion", "diligence", 1),
                                 ("objections_overcome", "product_knowledge", 1),
                                 ("demo_to_proposal", "product_knowledge", 1),
                                 ("follow_up_hours", "responsiveness", -1)):  # fmt: skip
        f = factors[factors.measure == measure].set_index("rep_id")["value"]
        both = traits.join(f.rename("v"), how="inner")
        row[f"rho_{measure}"] = sign * spearmanr(both[trait], both["v"]).statistic
    ws.close()
    return row


if __name__ == "__main__":
    seeds = [int(s) for s in sys.argv[1:]] or [1, 2, 3]
    with tempfile.TemporaryDirectory() as tmp:
        rows = [check(s, accounts=3000, aes=20, root=Path(tmp)) for s in seeds]
    frame = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    print(frame.round(3).to_string(index=False))
    print(frame.drop(columns="seed").mean().round(3).to_string())
