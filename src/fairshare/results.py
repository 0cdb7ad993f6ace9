"""The last run's stored results: the one reader of the snapshot `fairshare run` writes.

`fairshare run` stores every result table under `<workspace>/results/` with a manifest naming the
definitions hash and the data version (the last import) it was fitted on. Result commands read
the stored tables while both still match the workspace, and refit only when asked or stale;
`describe` says which run they show.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairshare.warehouse import RESULTS_DIR

if TYPE_CHECKING:
    import pandas as pd

    from fairshare.workspace import Workspace


def manifest(folder: str | Path) -> dict[str, Any] | None:
    """The last run's manifest (run_id, at, definitions_hash, data_version, tables), or None."""
    path = Path(folder) / RESULTS_DIR / "manifest.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def read(folder: str | Path, name: str) -> pd.DataFrame:
    """One stored result table (KeyError if the last run did not make it)."""
    import pandas as pd

    path = Path(folder) / RESULTS_DIR / f"{name}.parquet"
    if not path.exists():
        raise KeyError(f"no result {name!r} in {Path(folder) / RESULTS_DIR}; run `fairshare run` first")
    return pd.read_parquet(path)


def data_version(ws: Workspace) -> int | None:
    """The id of the workspace's last import (None before any): the data a run was fitted on."""
    from fairshare import warehouse

    con = ws.con
    if warehouse.IMPORTS_TABLE not in con.list_tables():
        return None
    value = con.table(warehouse.IMPORTS_TABLE).import_id.max().execute()
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


@dataclass(frozen=True)
class Stored:
    """Whether the last run's results still describe the workspace, and why not."""

    manifest: dict[str, Any] | None
    fresh: bool
    reason: str

    def describe(self) -> str:
        """One line for the terminal: which run a command shows, or why it refits."""
        if self.fresh and self.manifest:
            at = str(self.manifest.get("at", ""))[:16].replace("T", " ")
            return (f"results of run {self.manifest['run_id']} ({at} UTC; data and definitions unchanged "
                    "since); --refit to fit again")  # fmt: skip
        return f"fitting now: {self.reason} (`fairshare run` stores results for every command)"


def stored(ws: Workspace, table: str) -> Stored:
    """Can `table` be read from the last run? Fresh when the run made it and neither the definitions
    file nor the data (last import) changed since."""
    from fairshare.config import CONFIG_NAME, definitions_hash

    found = manifest(ws.path)
    if found is None:
        return Stored(None, False, "no stored run")
    if table not in found.get("tables", []):
        return Stored(found, False, f"run {found['run_id']} stored no {table} table")
    if found.get("definitions_hash") != definitions_hash(ws.path / CONFIG_NAME):
        return Stored(found, False, f"{CONFIG_NAME} changed since run {found['run_id']}")
    if "data_version" not in found:
        return Stored(found, False, f"run {found['run_id']} did not record which data it was fitted on")
    if found["data_version"] != data_version(ws):
        return Stored(found, False, f"data imported since run {found['run_id']}")
    return Stored(found, True, "")
