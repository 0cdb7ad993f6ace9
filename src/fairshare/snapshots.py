"""The results snapshot on disk: `results` is a symlink to one complete, read-only run folder.

A run writes its tables into a new hidden folder `.results.run-<run_id>-…` (manifest.json last, so a
folder with a manifest is complete), commits the run in the warehouse, then points `results` at the
folder with one atomic rename of a symlink: readers see the old run or the new one, never a mix and
never no `results`. A run killed on the way leaves a hidden folder; `recover` (at the next run)
publishes it when the warehouse committed that run, and sweeps every other leftover.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd

from fairshare.warehouse import RESULTS_DIR

_STAGED = ".results.run-"
_LEFTOVERS = (".results.",)  # staged runs, link temporaries, and the former layout's .tmp-/.old- folders


def stage(workspace: Path, tables: dict[str, pd.DataFrame], manifest: dict[str, Any]) -> Path:
    """Write a run's tables into a new hidden folder; the manifest goes last and marks it complete."""
    staged = workspace / f"{_STAGED}{manifest['run_id']}-{os.getpid()}-{time.time_ns()}"
    staged.mkdir(parents=True)
    for name, frame in tables.items():
        frame.to_parquet(staged / f"{name}.parquet", index=False)
    part = staged / ".manifest.json.part"
    part.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(part, staged / "manifest.json")
    return staged


def publish(workspace: Path, staged: Path) -> None:
    """Point `results` at `staged` atomically, then remove every other run folder."""
    link = workspace / RESULTS_DIR
    tmp = workspace / f".results.link-{os.getpid()}-{time.time_ns()}"
    os.symlink(staged.name, tmp)
    if link.is_dir() and not link.is_symlink():  # the former layout: a real folder (moved aside once)
        os.rename(link, workspace / f"{_STAGED}0-legacy-{time.time_ns()}")
    os.replace(tmp, link)
    _sweep(workspace, keep=staged.name)


def recover(workspace: Path, committed_run: int | None) -> None:
    """After a run was killed: publish its folder if the warehouse committed it, sweep the rest.

    Also restores `results` if a kill between the two steps of the former layout's swap left none.
    """
    link = workspace / RESULTS_DIR
    current = _run_id(link)
    complete = sorted(
        (
            p
            for p in workspace.glob(".results.*")
            if p.is_dir() and not p.is_symlink() and _run_id(p) is not None
        ),
        key=lambda p: _run_id(p),
    )
    wanted = [p for p in complete if committed_run is not None and _run_id(p) == committed_run]
    if wanted and (current is None or current < committed_run):
        publish(workspace, wanted[-1])
        return
    if current is None and not link.exists() and complete:
        publish(workspace, complete[-1])
        return
    _sweep(workspace, keep=os.readlink(link) if link.is_symlink() else None)


def _run_id(folder: Path) -> int | None:
    try:
        return int(json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["run_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _sweep(workspace: Path, keep: str | None) -> None:
    for path in workspace.iterdir():
        if not path.name.startswith(_LEFTOVERS) or path.name == keep:
            continue
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)
