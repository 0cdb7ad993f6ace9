"""An import lands whole or not at all, even when the process is killed with SIGKILL mid-way."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairshare import Workspace

CHILD = """
import sys
from fairshare import Workspace
ws = Workspace(sys.argv[1])
ws.import_(sys.argv[2], progress=lambda stage: print(stage, flush=True))
print("done", flush=True)
"""


def big_folder(path: Path, n_touches: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    path.mkdir()
    n_accounts = 5_000
    pd.DataFrame({"account_id": [f"A{i}" for i in range(n_accounts)]}).to_parquet(path / "accounts.parquet")
    pd.DataFrame({"opportunity_id": [f"O{seed}-{i}" for i in range(1000)],
                  "account_id": [f"A{i}" for i in rng.integers(0, n_accounts, 1000)],
                  "created_at": pd.Timestamp("2026-01-01"), "amount": rng.gamma(2, 1e4, 1000)}).to_parquet(
        path / "opportunities.parquet")  # fmt: skip
    pd.DataFrame({
        "touch_id": [f"T{seed}-{i}" for i in range(n_touches)],
        "at": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 365 * 86400, n_touches), unit="s"),
        "account_id": [f"A{i}" for i in rng.integers(0, n_accounts, n_touches)],
        "channel": rng.choice(["paid_search", "email", "webinar", "content"], n_touches),
        "cost": rng.random(n_touches),
    }).to_parquet(path / "touches.parquet")  # fmt: skip
    return path


def fingerprint(workspace: Path) -> tuple:
    with Workspace(workspace) as ws:
        t = ws.table("touches")
        return (ws.status()["tables"]["touches"], ws.status()["tables"]["opportunities"],
                t.touch_id.max().execute(), round(float(t.cost.sum().execute() or 0), 4))  # fmt: skip


#: touches in the first and the killed import: the kill points are import stages, so a folder large
#: enough for a write that lasts a few hundred ms is enough here (benchmarks/adversarial_pass.py
#: kills 30 imports of 1.5M touches)
FIRST, SECOND = 20_000, 200_000


@pytest.mark.slow
def test_sigkill_during_import_leaves_warehouse_unchanged(tmp_path):
    pristine = tmp_path / "pristine"
    Workspace.init(pristine).close()
    first = big_folder(tmp_path / "first", FIRST, seed=1)
    with Workspace(pristine) as ws:
        ws.import_(first)
    before = fingerprint(pristine)
    second = big_folder(tmp_path / "second", SECOND, seed=2)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    outcomes = []
    # Kill while checking, as writing starts, and deeper into the write; each kill on a fresh copy.
    for i, (stage, delay) in enumerate((("checking", 0.05), ("writing", 0.0), ("writing", 0.4))):
        workspace = Path(shutil.copytree(pristine, tmp_path / f"kill{i}"))
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(workspace), str(second)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
        seen = []
        for line in child.stdout:
            seen.append(line.strip())
            if line.startswith(stage):
                time.sleep(delay)
                child.send_signal(signal.SIGKILL)
                break
        child.wait(timeout=120)
        child.stdout.close()
        child.stderr.close()
        assert child.returncode == -signal.SIGKILL, seen
        after = fingerprint(workspace)
        # Whole or nothing: the old contents, or (killed after COMMIT returned) the complete import.
        complete = after[0] == FIRST + SECOND and after[1] == 2_000
        assert after == before or complete, (stage, delay, after)
        outcomes.append("old" if after == before else "new")
        with Workspace(workspace) as ws:  # the next import succeeds
            ws.import_(second)
        assert fingerprint(workspace)[0] == FIRST + SECOND
    assert outcomes[:2] == ["old", "old"], outcomes  # killed before the commit: nothing landed
