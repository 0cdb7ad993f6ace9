"""The warehouse: an Ibis connection by URL (DuckDB by default), canonical DDL, derived views.

Backend-specific code lives here and nowhere else (the Spark store in `fairshare.sparkstore`).
Derived views are Ibis expressions so the same definitions run on DuckDB, PostgreSQL and Spark
(tested side by side in tests/backends), and on BigQuery or Snowflake.

URL forms (`[workspace] warehouse` in fairshare.toml; `{workspace}` is the workspace folder):
`duckdb:///{workspace}/fairshare.duckdb` (default), `postgres://user:password@host:5432/db`,
`pyspark:///{workspace}/spark` (a folder of versioned Parquet tables; `?spark.master=...` and
other `spark.*` settings as query parameters).
Ibis and pandas are imported where they are used: `fairshare status` reads a DuckDB file's row
counts with plain DuckDB (`row_counts`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from fairshare import schema
from fairshare.errors import FeatureTableTooLarge

if TYPE_CHECKING:
    import ibis
    import ibis.expr.types as ir
    import pandas as pd

IMPORTS_TABLE = "_imports"
RUNS_TABLE = "_runs"
RESULT_PREFIX = "result_"
#: The workspace folder holding the last run's read-only Parquet snapshot.
RESULTS_DIR = "results"


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened; the message says why and what to do, in one line."""


class WarehouseBusy(WarehouseError):
    """Another process holds the warehouse file (DuckDB allows one writer per file)."""


class NoWarehouse(WarehouseError):
    """A reader found no warehouse file: nothing has been imported into this workspace yet."""


def resolve_url(url: str, workspace: Path) -> str:
    """Fill `{workspace}` in a connection URL with the workspace folder."""
    return url.replace("{workspace}", str(Path(workspace).resolve()))


def duckdb_path(url: str) -> Path | None:
    """The database file of a `duckdb:///path` URL (None for other backends or in-memory)."""
    if not url.startswith("duckdb://"):
        return None
    rest = url[len("duckdb://") :]
    if rest in ("", "/", ":memory:", "/:memory:"):
        return None
    return Path(rest[1:] if rest.startswith("//") else rest)


def connect(url: str, read_only: bool = False) -> ibis.BaseBackend:
    """Open the warehouse behind `url` (DuckDB file by default; any Ibis URL otherwise).

    A reader (`read_only`) never creates anything: a missing DuckDB file raises NoWarehouse.
    """
    if url.startswith("duckdb://"):
        return _connect_duckdb(duckdb_path(url), read_only)
    if url.startswith(("pyspark://", "spark://")):
        return _connect_spark(url, read_only)
    import ibis

    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme in ("postgres", "postgresql"):
        _postgres_compiler_fixes()
    try:
        return ibis.connect(url)
    except ImportError:
        raise WarehouseError(f"the warehouse URL {scheme}:// needs its driver: "
                             f"pip install 'ibis-framework[{scheme}]'") from None  # fmt: skip
    except Exception as e:  # noqa: BLE001 (any backend's connection error becomes one line)
        raise WarehouseError(
            f"cannot open the warehouse {_redacted(url)}: {str(e).splitlines()[0] if str(e) else type(e).__name__}; "
            "check [workspace] warehouse in fairshare.toml"
        ) from None


def _check_duckdb_file(path: Path | None, read_only: bool) -> None:
    if path is not None:
        if read_only and not path.exists():
            raise NoWarehouse(f"no data in this workspace yet (no {path.name}); "
                              "import a folder first: fairshare import FOLDER")  # fmt: skip
        if path.is_dir():
            raise WarehouseError(f"the warehouse {path} is a folder, not a DuckDB file; "
                                 "fix [workspace] warehouse in fairshare.toml")  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)


def _open_failed(path: Path | None, e: Exception) -> WarehouseError:
    """One line saying why DuckDB would not open `path` (held by another process, not a database)."""
    text = str(e)
    if "lock" in text.lower():
        return WarehouseBusy(
            f"the warehouse {path} is in use by another fairshare process (an import or a run); "
            "wait for it to finish"
        )
    if "not a valid DuckDB database" in text:
        return WarehouseError(f"{path} is not a DuckDB database file; point [workspace] warehouse "
                              "in fairshare.toml at a .duckdb file, or move that file away")  # fmt: skip
    return WarehouseError(f"cannot open the warehouse {path}: {text.splitlines()[0]}")


def _connect_duckdb(path: Path | None, read_only: bool) -> ibis.BaseBackend:
    import ibis

    _check_duckdb_file(path, read_only)
    try:
        con = ibis.duckdb.connect(str(path) if path else ":memory:", read_only=read_only)
    except Exception as e:  # noqa: BLE001 (duckdb.IOException and friends)
        raise _open_failed(path, e) from None
    con.raw_sql("SET TimeZone='UTC'")
    return con


def row_counts(path: Path) -> tuple[dict[str, int], dict[str, Any] | None]:
    """Row counts of the canonical tables (0 when absent) and the last import of a DuckDB file,
    read read-only with plain DuckDB: what `status` shows, without Ibis or pandas."""
    import duckdb

    _check_duckdb_file(path, read_only=True)
    try:
        con = duckdb.connect(str(path), read_only=True)
    except Exception as e:  # noqa: BLE001 (duckdb.IOException and friends)
        raise _open_failed(path, e) from None
    try:
        con.execute("SET TimeZone='UTC'")
        present = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        counts = {
            name: con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] if name in present else 0
            for name in schema.TABLES
        }
        last_import = None
        if IMPORTS_TABLE in present:
            row = con.execute(f'SELECT import_id, "at", folder FROM "{IMPORTS_TABLE}" '
                              "ORDER BY import_id DESC LIMIT 1").fetchone()  # fmt: skip
            if row is not None:
                last_import = {"import_id": int(row[0]), "at": row[1].isoformat(), "folder": row[2]}
    finally:
        con.close()
    return {name: int(n) for name, n in counts.items()}, last_import


def spark_folder(url: str) -> Path:
    """The store folder of a `pyspark:///...` URL, with one leading slash: `{workspace}` filled in
    gives `pyspark:////abs/ws/spark`, and Hadoop reads `//abs/...` as a host named `abs`."""
    return Path("/" + urlsplit(url).path.lstrip("/"))


def _connect_spark(url: str, read_only: bool) -> ibis.BaseBackend:
    """A Spark session (local by default) with the store's current tables as views."""
    parts = urlsplit(url)
    if not parts.path or parts.path == "/":
        raise WarehouseError("a Spark warehouse URL names its folder: pyspark:///{workspace}/spark")
    folder = spark_folder(url)
    if read_only and not (folder / "current.json").exists():
        raise NoWarehouse("no data in this workspace yet; import a folder first: fairshare import FOLDER")
    try:
        from fairshare.sparkstore import SparkStore, spark_session

        session = spark_session(dict(parse_qsl(parts.query)))
    except ImportError:
        raise WarehouseError("the warehouse URL pyspark:// needs its driver: "
                             "pip install 'fairshare[backends]' (and a Java runtime)") from None  # fmt: skip
    except Exception as e:  # noqa: BLE001 (no Java, a bad setting: one line)
        raise WarehouseError(
            f"cannot start Spark: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from None
    import ibis

    con = ibis.pyspark.connect(session)
    con._fairshare_store = SparkStore(folder, con)
    con._fairshare_store.register()
    return con


def _postgres_compiler_fixes() -> None:
    """Teach Ibis's PostgreSQL compiler what the models' expressions need (once per process).

    PostgreSQL has no cast from boolean to bigint (only to int), and the models count rows with
    `flag.cast("int64").sum()`: compile that as CAST(CAST(flag AS INT) AS BIGINT). DuckDB and
    Spark compile through other classes, so their SQL is unchanged.
    """
    import sqlglot.expressions as sge
    from ibis.backends.sql.compilers.postgres import PostgresCompiler

    if getattr(PostgresCompiler, "_fairshare_fixes", False):
        return
    cast = PostgresCompiler.visit_Cast

    def visit_Cast(self, op, *, arg, to):
        if op.arg.dtype.is_boolean() and to.is_integer() and not to.is_int32():
            arg = sge.Cast(this=arg, to=sge.DataType.build("INT"))
        return cast(self, op, arg=arg, to=to)

    PostgresCompiler.visit_Cast = visit_Cast
    PostgresCompiler.visit_TryCast = visit_Cast
    PostgresCompiler._fairshare_fixes = True


def spark_store(con: ibis.BaseBackend) -> Any:
    """The versioned Parquet store behind a Spark connection opened by `connect`."""
    store = getattr(con, "_fairshare_store", None)
    if store is None:
        raise WarehouseError("this Spark connection was not opened by fairshare (no store folder)")
    return store


def _redacted(url: str) -> str:
    """The URL without its password (`postgres://user:***@host/db`)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def is_duckdb(con: ibis.BaseBackend) -> bool:
    return con.name == "duckdb"


def is_spark(con: ibis.BaseBackend) -> bool:
    return con.name == "pyspark"


def bookkeeping_schemas() -> dict[str, ibis.Schema]:
    """The import log and the run log."""
    import ibis

    return {
        IMPORTS_TABLE: ibis.schema(
            {"import_id": "int64", "at": "timestamp", "folder": "string", "tables": "string", "rows": "int64"}
        ),
        RUNS_TABLE: ibis.schema(
            {
                "run_id": "int64",
                "at": "timestamp",
                "definitions_hash": "string",
                "tables": "string",
                "seconds": "float64",
            }
        ),  # fmt: skip
    }


def ensure_canonical_tables(con: ibis.BaseBackend) -> None:
    """Create every canonical table (empty) and the bookkeeping tables if they do not exist."""
    import ibis

    existing = set(con.list_tables())
    wanted = {t.name: ibis.schema(schema.ibis_schema(t)) for t in schema.TABLES.values()}
    wanted.update(bookkeeping_schemas())
    for name, table_schema in wanted.items():
        if name in existing:
            continue
        if is_spark(con):
            spark_store(con).create_empty(name, table_schema)
        else:
            con.create_table(name, schema=table_schema)


def temporary_table(con: ibis.BaseBackend, name: str, expr: ir.Table) -> ir.Table:
    """`expr` computed once into a table that dies with the connection (on Spark: a cached
    temporary view, Spark having no temporary tables)."""
    if is_spark(con):
        con.create_view(name, expr, overwrite=True)
        con.raw_sql(f"CACHE TABLE `{name}`")
        return con.table(name)
    return con.create_table(name, expr, temp=True)


def drop_temporary(con: ibis.BaseBackend, name: str) -> None:
    if is_spark(con):
        con.raw_sql(f"UNCACHE TABLE IF EXISTS `{name}`")
        con.drop_view(name, force=True)
    else:
        con.drop_table(name, force=True)


def add_columns(con: ibis.BaseBackend, table: str, columns: dict[str, str]) -> None:
    """Add extra (non-canonical) columns, kept as features; `columns` maps name → SQL type.

    Many new columns are added by rebuilding the table once (one ALTER TABLE per column made
    3,000 columns take 15 s and 4 GB); a few are added in place.
    """
    have = set(con.table(table).columns)
    new = {name: sqltype for name, sqltype in columns.items() if name not in have}
    if new and con.name == "postgres":  # one ALTER with many ADDs is cheap there (and transactional)
        con.raw_sql(f'ALTER TABLE "{table}" ' + ", ".join(f'ADD COLUMN "{n}" {t}' for n, t in new.items()))
        return
    if len(new) <= 8:
        for name, sqltype in new.items():
            con.raw_sql(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {sqltype}')
        return
    added = ", ".join(f'CAST(NULL AS {sqltype}) AS "{name}"' for name, sqltype in new.items())
    con.raw_sql(f'CREATE OR REPLACE TABLE "{table}" AS SELECT *, {added} FROM "{table}"')


@contextlib.contextmanager
def transaction(con: ibis.BaseBackend) -> Iterator[None]:
    """One all-or-nothing transaction. On DuckDB, optimistic writes are turned off first: with
    them a SIGKILL during COMMIT can leave a torn import (STACK.md §3). On PostgreSQL Ibis's own
    statements become savepoints of it. Spark has none: write through `SparkStore.commit`."""
    if con.name == "postgres":
        with con.con.transaction():
            yield
        return
    if is_spark(con):
        raise WarehouseError("Spark has no transactions; fairshare writes new versions (sparkstore)")
    if is_duckdb(con):
        con.raw_sql("SET enable_optimistic_write=false")
    con.raw_sql("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.raw_sql("ROLLBACK")
        raise
    else:
        con.raw_sql("COMMIT")


# --- derived views (Ibis expressions) -------------------------------------------------------


def touches_with_account(con: ibis.BaseBackend) -> ir.Table:
    """Touches with `account_id` filled from the contact when the touch names only a contact."""
    import ibis
    from ibis import _

    touches = con.table("touches")
    contacts = con.table("contacts").select(c_contact_id=_.contact_id, c_account_id=_.account_id)
    joined = touches.left_join(contacts, touches.contact_id == contacts.c_contact_id)
    return joined.mutate(account_id=ibis.coalesce(joined.account_id, joined.c_account_id)).drop(
        "c_contact_id", "c_account_id"
    )


def activities_with_account(con: ibis.BaseBackend) -> ir.Table:
    """Activities with `account_id` resolved through the opportunity, lead or contact they name."""
    import ibis
    from ibis import _

    acts = con.table("activities")
    opps = con.table("opportunities").select(o_id=_.opportunity_id, o_account=_.account_id)
    leads = con.table("leads").select(l_id=_.lead_id, l_account=_.account_id, l_contact=_.contact_id)
    contacts = con.table("contacts").select(c_id=_.contact_id, c_account=_.account_id)
    j = acts.left_join(opps, acts.opportunity_id == opps.o_id)
    j = j.left_join(leads, j.lead_id == leads.l_id)
    j = j.left_join(contacts, ibis.coalesce(j.contact_id, j.l_contact) == contacts.c_id)
    return j.mutate(account_id=ibis.coalesce(j.account_id, j.o_account, j.l_account, j.c_account)).drop(
        "o_id", "o_account", "l_id", "l_account", "l_contact", "c_id", "c_account"
    )


def leads_with_account(con: ibis.BaseBackend) -> ir.Table:
    """Leads with `account_id` filled from their contact."""
    import ibis
    from ibis import _

    leads = con.table("leads")
    contacts = con.table("contacts").select(c_id=_.contact_id, c_account=_.account_id)
    j = leads.left_join(contacts, leads.contact_id == contacts.c_id)
    return j.mutate(account_id=ibis.coalesce(j.account_id, j.c_account)).drop("c_id", "c_account")


# --- loading an import and storing a run's results, per backend --------------------------------


def check_feature_cells(what: str, rows: int, columns: int, limit: int) -> None:
    """Refuse to bring a feature table of more than `limit` cells (rows x columns) into Python:
    fail in one line, before the transfer, rather than run out of memory or sample in silence."""
    cells = rows * columns
    if cells > limit:
        size = f"{cells * 8 / 1e9:.1f} GB" if cells >= 12_500_000 else f"{cells * 8 / 1e6:.1f} MB"
        raise FeatureTableTooLarge(
            f"{what}: {rows:,} rows x {columns} columns = {cells:,} cells, more than "
            f"[workspace] max_feature_cells = {limit:,} (about {size} as float64); "
            "raise it in fairshare.toml on a machine with that memory (docs/scale.md)"
        )


def store_results(con: ibis.BaseBackend, tables: dict[str, pd.DataFrame], run: dict[str, Any]) -> None:
    """Store a run's result tables (`result_<name>`) and its `_runs` row, all or nothing."""
    if is_spark(con):
        import pyarrow as pa

        runs = con.table(RUNS_TABLE).to_pyarrow().cast(bookkeeping_schemas()[RUNS_TABLE].to_pyarrow())
        frames: dict[str, Any] = {f"{RESULT_PREFIX}{n}": pa.Table.from_pandas(f, preserve_index=False)
                                  for n, f in tables.items()}  # fmt: skip
        frames[RUNS_TABLE] = pa.concat_tables([runs, pa.Table.from_pylist([run], schema=runs.schema)])
        spark_store(con).commit(frames)
        return
    import pandas as pd

    with transaction(con):
        for name, frame in tables.items():
            con.create_table(f"{RESULT_PREFIX}{name}", frame, overwrite=True)
        con.insert(RUNS_TABLE, pd.DataFrame([run]))
