"""The Spark warehouse: a folder of versioned Parquet tables, switched by one manifest file.

Spark (local or a cluster) has no transactions across tables. An import or a run therefore
writes every changed table as a new version folder and then replaces `current.json` in one
atomic rename: readers see the old version or the new one, never half an import. At connect
time each table of the current version becomes a Spark view of the same name, so Ibis
expressions reach them as ordinary tables. Only `fairshare.warehouse` uses this module.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

MANIFEST = "current.json"
RESULTS_PREFIX = "result_"
#: Spark settings for a local session: UTC like every other backend, no UI, few shuffle partitions
#: (fairshare's tables are small per account; a cluster overrides these through the URL).
LOCAL_CONF = {
    "spark.master": "local[1]",
    "spark.app.name": "fairshare",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "1",
    "spark.sql.codegen.wholeStage": "false",  # compiling code costs more than it saves on small tables
    "spark.sql.ansi.enabled": "false",
    "spark.driver.memory": "1g",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
}


def spark_session(conf: dict[str, str] | None = None) -> Any:
    """The process's Spark session (created once with LOCAL_CONF updated by `conf`)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no lookup of the host's name
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder
    for key, value in {**LOCAL_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkStore:
    """Versioned Parquet tables in `folder`, exposed as views on an Ibis PySpark connection."""

    def __init__(self, folder: Path, con: ibis.BaseBackend):
        self.folder = Path(folder)
        self.con = con
        self.folder.mkdir(parents=True, exist_ok=True)

    @property
    def session(self) -> Any:
        return self.con._session

    def manifest(self) -> dict[str, Any]:
        path = self.folder / MANIFEST
        if not path.exists():
            return {"version": 0, "tables": {}}
        return json.loads(path.read_text(encoding="utf-8"))

    def register(self) -> None:
        """Make every table of the current version a view. Stored run results are left out (one
        schema read each; readers use the run's Parquet snapshot)."""
        for name, rel in self.manifest()["tables"].items():
            if name.startswith(RESULTS_PREFIX):
                continue
            self.session.read.parquet(str(self.folder / rel)).createOrReplaceTempView(name)

    def create_empty(self, name: str, schema: ibis.Schema) -> None:
        """An empty table (a view over no rows) until an import writes a version of it."""
        from ibis.backends.pyspark.datatypes import PySparkSchema

        self.session.createDataFrame([], PySparkSchema.from_ibis(schema)).createOrReplaceTempView(name)

    def commit(self, frames: dict[str, Any]) -> int:
        """Write each of `frames` (Spark DataFrames or pyarrow Tables) as the next version, then
        switch the manifest to it in one rename. Returns the new version number."""
        current = self.manifest()
        version = int(current["version"]) + 1
        folder = f"v{version}-{uuid.uuid4().hex[:8]}"
        tables = dict(current["tables"])
        try:
            for name, frame in frames.items():
                rel = f"{folder}/{name}"
                target = self.folder / rel
                if isinstance(frame, pa.Table):
                    target.mkdir(parents=True)
                    pq.write_table(frame, target / "part-0.parquet")
                else:
                    frame.write.mode("error").parquet(str(target))
                tables[name] = rel
            tmp = self.folder / f".{MANIFEST}.{uuid.uuid4().hex[:8]}"
            tmp.write_text(json.dumps({"version": version, "tables": tables}, indent=1), encoding="utf-8")
            os.replace(tmp, self.folder / MANIFEST)  # the switch: atomic on one file system
        except BaseException:
            shutil.rmtree(self.folder / folder, ignore_errors=True)
            raise
        self.register()
        self._sweep(set(tables.values()) | set(current["tables"].values()))  # readers may be on the last
        return version

    def _sweep(self, live: set[str]) -> None:
        """Delete version folders that neither this version nor the previous one points into."""
        keep = {rel.split("/", 1)[0] for rel in live}
        for child in self.folder.iterdir():
            if child.is_dir() and child.name.startswith("v") and child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)
