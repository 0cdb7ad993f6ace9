"""Wide files: seconds to import a touches file with N extra columns, and seconds per 1,000 columns.

Run by hand (the machine is shared): `nice -n 10 .venv/bin/python benchmarks/wide_import.py`
(1,000 / 3,000 / 10,000 / 30,000 extra columns; `--columns 1000 3000` for others, `--rows` for the
file's rows). Each size imports the tiny example into a fresh workspace, then a touches file of
`--rows` rows (the tiny touches, repeated) with N extra text columns, as `fairshare import` does:
validation, the all-or-nothing write and the checkpoint on close. Linear means the per-column
figures stay flat as N grows. CPU seconds (every thread of this process) move less with the load
of a shared machine than wall seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from fairshare import Workspace, schema

TINY = Path(__file__).resolve().parents[1] / "examples" / "tiny"


def wide_touches(folder: Path, n_columns: int, n_rows: int) -> None:
    """touches.csv: the tiny example's touches (renumbered to `n_rows`) plus `n_columns` extra columns."""
    header, *rows = (TINY / "touches.csv").read_text().splitlines()
    filler = "," + ",".join("v" for _ in range(n_columns))
    lines = [header + "," + ",".join(f"extra_{i}" for i in range(n_columns))]
    for i in range(n_rows):
        touch_id, rest = rows[i % len(rows)].split(",", 1)
        lines.append(f"{touch_id}-{i},{rest}{filler}")
    folder.mkdir(parents=True)
    (folder / "touches.csv").write_text("\n".join(lines) + "\n")


def measure(n_columns: int, n_rows: int, tmp: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, extra columns kept) of importing one wide file."""
    workspace, folder = tmp / f"ws-{n_columns}", tmp / f"wide-{n_columns}"
    with Workspace.init(workspace) as ws:
        ws.import_(TINY)
    wide_touches(folder, n_columns, n_rows)
    wall, cpu = time.perf_counter(), time.process_time()
    with Workspace(workspace) as ws:  # closing checkpoints the warehouse: part of the import's cost
        ws.import_(folder)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with Workspace(workspace, read_only=True) as ws:
        kept = len(set(ws.table("touches").columns) - set(schema.TABLES["touches"].column_names))
    shutil.rmtree(workspace)
    shutil.rmtree(folder)
    return wall, cpu, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, nargs="+", default=[1_000, 3_000, 10_000, 30_000])
    parser.add_argument("--rows", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; {args.rows} rows")
    print("| extra columns | wall s | CPU s | wall s / 1,000 columns | CPU s / 1,000 columns | kept |")
    print("|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="fairshare-wide-") as tmp:
        for n in args.columns:
            wall, cpu, kept = measure(n, args.rows, Path(tmp))
            print(f"| {n:,} | {wall:.1f} | {cpu:.1f} | {wall / n * 1000:.2f} | {cpu / n * 1000:.2f} | {kept:,} |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
