"""Loading a validated import into the warehouse, all or nothing: one transaction on DuckDB and
PostgreSQL, one new version of the store on Spark (validation stays in `fairshare.ingest`)."""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairshare.warehouse import (
    IMPORTS_TABLE,
    WarehouseError,
    add_columns,
    bookkeeping_schemas,
    is_duckdb,
    is_spark,
    spark_store,
    transaction,
)

if TYPE_CHECKING:
    import ibis


@dataclass(frozen=True)
class Load:
    """One table of a validated import: its typed rows sit in the staging DuckDB as `typed`."""

    name: str
    typed: str
    key: tuple[str, ...]
    columns: tuple[str, ...]  # canonical columns, then the extra ones
    extras: tuple[str, ...]


def load_import(
    con: ibis.BaseBackend, staging: Any, loads: list[Load], folder: str, rows: dict[str, int]
) -> None:
    """Upsert every table of a validated import (a newer row replaces the one with its key) and log
    it in `_imports`, all or nothing: one transaction on DuckDB and PostgreSQL, one new version of
    the store on Spark. `staging` is the DuckDB connection holding the typed rows."""
    if is_spark(con):
        _load_spark(con, staging, loads, folder, rows)
    elif con.name == "postgres":
        _load_postgres(con, staging, loads, folder, rows)
    elif is_duckdb(con):
        _load_duckdb(con, staging, loads, folder, rows)
    else:
        raise WarehouseError(f"imports into {con.name} are not supported; use DuckDB, PostgreSQL or Spark")


def _quoted(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _key_match(key: tuple[str, ...], old: str, new: str) -> str:
    return " AND ".join(f'{old}."{k}" IS NOT DISTINCT FROM {new}."{k}"' for k in key)


def _load_duckdb(
    con: ibis.BaseBackend, raw: Any, loads: list[Load], folder: str, rows: dict[str, int]
) -> None:
    with transaction(con):
        for load in loads:
            add_columns(con, load.name, {x: "VARCHAR" for x in load.extras})
            raw.execute(
                f'DELETE FROM "{load.name}" AS t USING "{load.typed}" n WHERE {_key_match(load.key, "t", "n")}'
            )
            cols = _quoted(load.columns)
            raw.execute(f'INSERT INTO "{load.name}" ({cols}) SELECT {cols} FROM "{load.typed}"')
        import_id = raw.execute(f"SELECT coalesce(max(import_id), 0) + 1 FROM {IMPORTS_TABLE}").fetchone()[0]
        raw.execute(f"INSERT INTO {IMPORTS_TABLE} VALUES (?, now()::TIMESTAMP, ?, ?, ?)",
                    [import_id, folder, json.dumps(rows), sum(rows.values())])  # fmt: skip


def _load_postgres(
    con: ibis.BaseBackend, raw: Any, loads: list[Load], folder: str, rows: dict[str, int]
) -> None:
    """COPY each table's rows (as CSV written by DuckDB) into a temporary table, then DELETE the
    replaced keys and INSERT, all in one PostgreSQL transaction."""
    with (
        tempfile.TemporaryDirectory(prefix="fairshare-load-") as tmp,
        transaction(con),
        con.con.cursor() as cur,
    ):
        for load in loads:
            add_columns(con, load.name, {x: "VARCHAR" for x in load.extras})
            cols, new = _quoted(load.columns), f"__new_{load.name}"
            cur.execute(
                f'CREATE TEMP TABLE "{new}" ON COMMIT DROP AS SELECT {cols} FROM "{load.name}" WITH NO DATA'
            )
            csv = Path(tmp) / f"{load.name}.csv"
            raw.execute(f"COPY (SELECT {cols} FROM \"{load.typed}\") TO '{csv}' (FORMAT csv, HEADER true)")
            with (
                cur.copy(f'COPY "{new}" ({cols}) FROM STDIN (FORMAT csv, HEADER true)') as copy,
                csv.open("rb") as fh,
            ):
                while chunk := fh.read(1 << 20):
                    copy.write(chunk)
            cur.execute(
                f'DELETE FROM "{load.name}" AS t USING "{new}" n WHERE {_key_match(load.key, "t", "n")}'
            )
            cur.execute(f'INSERT INTO "{load.name}" ({cols}) SELECT {cols} FROM "{new}"')
        cur.execute(f'SELECT coalesce(max(import_id), 0) + 1 FROM "{IMPORTS_TABLE}"')
        import_id = cur.fetchone()[0]
        cur.execute(f"INSERT INTO \"{IMPORTS_TABLE}\" VALUES (%s, now() AT TIME ZONE 'UTC', %s, %s, %s)",
                    [import_id, folder, json.dumps(rows), sum(rows.values())])  # fmt: skip


def _load_spark(
    con: ibis.BaseBackend, raw: Any, loads: list[Load], folder: str, rows: dict[str, int]
) -> None:
    """Write each changed table's merged rows as the store's next version; switch when all are written."""
    import pyarrow as pa

    store = spark_store(con)
    session = store.session
    staging = store.folder / f"staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        frames: dict[str, Any] = {}
        stored = store.manifest()["tables"]
        for load in loads:
            select = f'SELECT {_quoted(load.columns)} FROM "{load.typed}"'
            if load.name not in stored:  # nothing to merge with: DuckDB's typed rows are the version
                frames[load.name] = raw.execute(select).to_arrow_table()
                continue
            path = staging / f"{load.name}.parquet"
            raw.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
            new = session.read.parquet(str(path))
            old = session.table(load.name)
            keys = new.select(*[new[k].alias(f"__k_{k}") for k in load.key])
            match = functools.reduce(
                lambda a, b: a & b, [old[k].eqNullSafe(keys[f"__k_{k}"]) for k in load.key]
            )
            frames[load.name] = old.join(keys, match, "left_anti").unionByName(new, allowMissingColumns=True)
        log = con.table(IMPORTS_TABLE).to_pyarrow()
        import_id = int(pa.compute.max(log["import_id"]).as_py() or 0) + 1 if log.num_rows else 1
        row = {"import_id": import_id, "at": datetime.now(UTC).replace(tzinfo=None), "folder": folder,
               "tables": json.dumps(rows), "rows": sum(rows.values())}  # fmt: skip
        schema_ = bookkeeping_schemas()[IMPORTS_TABLE].to_pyarrow()
        frames[IMPORTS_TABLE] = pa.concat_tables(
            [log.cast(schema_), pa.Table.from_pylist([row], schema=schema_)]
        )
        store.commit(frames)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
