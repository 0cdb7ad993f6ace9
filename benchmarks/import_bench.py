"""Import speed: rows/second for ≥5M touches from Parquet, next to a plain DuckDB load of the same file.

Run by hand: `.venv/bin/python benchmarks/import_bench.py [--touches 5000000]`.
The baseline is `CREATE TABLE AS SELECT * FROM read_parquet(...)` in a fresh DuckDB file: no checks,
no types, no upsert. fairshare's import validates every cell, checks references and upserts
in one transaction, so the ratio says what those guarantees cost.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from fairshare import Workspace


def make_folder(folder: Path, n_touches: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    n_accounts, n_contacts = 50_000, 150_000
    pd.DataFrame({"account_id": [f"A{i}" for i in range(n_accounts)]}).to_parquet(folder / "accounts.parquet")
    pd.DataFrame({"contact_id": [f"C{i}" for i in range(n_contacts)],
                  "account_id": [f"A{i}" for i in rng.integers(0, n_accounts, n_contacts)]}).to_parquet(
        folder / "contacts.parquet")  # fmt: skip
    pd.DataFrame({"opportunity_id": ["O1"], "account_id": ["A1"], "created_at": [pd.Timestamp("2026-01-01")],
                  "amount": [1.0]}).to_parquet(folder / "opportunities.parquet")  # fmt: skip
    pd.DataFrame({
        "touch_id": np.char.add("T", np.arange(n_touches).astype(str)),
        "at": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365 * 86400, n_touches), unit="s"),
        "contact_id": np.char.add("C", rng.integers(0, n_contacts, n_touches).astype(str)),
        "channel": rng.choice(["paid_search", "paid_social", "email", "webinar", "content", "events"], n_touches),
        "kind": rng.choice(["impression", "click", "visit", "form"], n_touches),
        "cost": rng.random(n_touches).round(4),
    }).to_parquet(folder / "touches.parquet")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--touches", type=int, default=5_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        make_folder(tmp / "in", args.touches)
        print(f"generated {args.touches:,} touches in {time.perf_counter() - t0:.1f} s")

        con = duckdb.connect(str(tmp / "baseline.duckdb"))
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE touches AS SELECT * FROM read_parquet('{tmp / 'in' / 'touches.parquet'}')")
        con.execute("CHECKPOINT")
        baseline = time.perf_counter() - t0
        con.close()

        ws = Workspace.init(tmp / "ws")
        t0 = time.perf_counter()
        report = ws.import_(tmp / "in")
        ws.con.raw_sql("CHECKPOINT")
        ours = time.perf_counter() - t0
        ws.close()
        rows = sum(report.rows.values())
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"plain DuckDB load (touches only): {baseline:6.2f} s  {args.touches / baseline:12,.0f} rows/s")
        print(
            f"fairshare import (all tables)   : {ours:6.2f} s  {rows / ours:12,.0f} rows/s  ({rows:,} rows)"
        )
        print(f"ratio fairshare / plain DuckDB  : {ours / baseline:6.2f}x the time "
              f"({(rows / ours) / (args.touches / baseline):.2f}x the throughput)")  # fmt: skip
        print(f"peak RSS of this process        : {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
