"""The API's read path: the last run's Parquet snapshot, cached in memory, reloaded when it changes.

`fairshare run` writes every result table to `<workspace>/results/` and swaps the folder in
atomically (`Workspace.save_results`). The server never opens the warehouse: each request stats
`results/manifest.json` (a few microseconds); when its inode or mtime changed since the last load, the
tables are read again into a new immutable `Snapshot` and swapped in under a lock. A request that
races with a swap keeps the snapshot it started with; a load that races with a swap retries.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairshare.errors import NoResults
from fairshare.warehouse import RESULTS_DIR

_RETRIES = 20
_RETRY_SLEEP = 0.05


@dataclass
class Snapshot:
    """One run's result tables, read-only, plus per-snapshot caches (sorted lead queues)."""

    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    stamp: tuple[int, int]
    _indexes: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def table(self, name: str) -> pd.DataFrame:
        """A result table, or an empty frame when the run did not produce it."""
        return self.tables.get(name, pd.DataFrame())

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """`build()` once per snapshot (e.g. a serialised response), then the cached value."""
        with self._lock:
            if key not in self._memo:
                self._memo[key] = build()
            return self._memo[key]

    def index(self, name: str, column: str) -> dict[str, int]:
        """Row position of each value of `column` (as text) in `name` (cached)."""
        key = f"index:{name}:{column}"
        with self._lock:
            if key not in self._indexes:
                frame = self.table(name)
                values = frame[column].astype(str) if column in frame.columns else pd.Series(dtype=str)
                self._indexes[key] = {v: i for i, v in enumerate(values)}
            return self._indexes[key]

    def order(self, name: str, column: str, descending: bool = True) -> np.ndarray:
        """Row positions of `name` sorted by `column` (stable, missing last; cached per snapshot)."""
        key = f"order:{name}:{column}:{descending}"
        with self._lock:
            if key not in self._memo:
                frame = self.table(name)
                if column in frame.columns:
                    ranked = frame[column].reset_index(drop=True)
                    ranked = ranked.sort_values(ascending=not descending, kind="stable", na_position="last")
                    self._memo[key] = ranked.index.to_numpy()
                else:
                    self._memo[key] = np.arange(len(frame))
            return self._memo[key]


class SnapshotReader:
    """Serves the newest complete snapshot of a workspace's results folder."""

    def __init__(self, workspace: str | Path):
        self.folder = Path(workspace) / RESULTS_DIR
        self._current: Snapshot | None = None
        self._lock = threading.Lock()
        self.loads = 0

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.folder / "manifest.json")
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    def current(self) -> Snapshot:
        """The snapshot matching the folder now (NoResults before the first run)."""
        stamp = self._stamp()
        snap = self._current
        if snap is not None and (stamp is None or snap.stamp == stamp):
            return snap  # unchanged, or mid-swap (the folder is briefly absent): keep serving
        with self._lock:
            if self._current is not None and self._current.stamp == self._stamp():
                return self._current
            loaded = self._load()
            if loaded is None:
                if self._current is not None:
                    return self._current
                raise NoResults(f"no results in {self.folder}; run `fairshare run` first")
            self._current = loaded
            self.loads += 1
            return loaded

    def _load(self) -> Snapshot | None:
        for _ in range(_RETRIES):
            before = self._stamp()
            if before is None:
                if self._current is None and not self.folder.exists():
                    return None  # never run (a swap leaves the folder absent for microseconds only)
                time.sleep(_RETRY_SLEEP)
                continue
            try:
                manifest = json.loads((self.folder / "manifest.json").read_text(encoding="utf-8"))
                tables = {
                    name: pd.read_parquet(self.folder / f"{name}.parquet") for name in manifest["tables"]
                }
            except (FileNotFoundError, json.JSONDecodeError, OSError):
                time.sleep(_RETRY_SLEEP)
                continue
            if self._stamp() == before:
                return Snapshot(manifest=manifest, tables=tables, stamp=before)
        return None
