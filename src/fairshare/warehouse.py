"""The warehouse: an Ibis connection by URL (DuckDB by default), canonical DDL, derived views.

Backend-specific code lives here and nowhere else. Derived views are Ibis expressions so the
same definitions run on DuckDB, PostgreSQL, BigQuery or Snowflake.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import ibis
import ibis.expr.types as ir
from ibis import _

from fairshare import schema

IMPORTS_TABLE = "_imports"
RUNS_TABLE = "_runs"
RESULT_PREFIX = "result_"
#: The workspace folder holding the last run's read-only Parquet snapshot.
RESULTS_DIR = "results"


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file (DuckDB allows one writer per file)."""


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
    """Open the warehouse behind `url` (DuckDB file by default; any Ibis URL otherwise)."""
    path = duckdb_path(url)
    if url.startswith("duckdb://"):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if read_only and not path.exists():
                read_only = False
        try:
            con = ibis.duckdb.connect(str(path) if path else ":memory:", read_only=read_only)
        except Exception as e:  # duckdb.IOException on a held lock
            if "lock" in str(e).lower():
                raise WarehouseBusy(
                    f"the warehouse {path} is in use by another fairshare process (an import or a run); "
                    "wait for it to finish, or stop `fairshare serve` while importing"
                ) from None
            raise
        con.raw_sql("SET TimeZone='UTC'")
        return con
    return ibis.connect(url)


def is_duckdb(con: ibis.BaseBackend) -> bool:
    return con.name == "duckdb"


def ensure_canonical_tables(con: ibis.BaseBackend) -> None:
    """Create every canonical table (empty) and the bookkeeping tables if they do not exist."""
    existing = set(con.list_tables())
    for t in schema.TABLES.values():
        if t.name not in existing:
            con.create_table(t.name, schema=ibis.schema(schema.ibis_schema(t)))
    if IMPORTS_TABLE not in existing:
        con.create_table(
            IMPORTS_TABLE,
            schema=ibis.schema(
                {
                    "import_id": "int64",
                    "at": "timestamp",
                    "folder": "string",
                    "tables": "string",
                    "rows": "int64",
                }
            ),  # fmt: skip
        )
    if RUNS_TABLE not in existing:
        con.create_table(
            RUNS_TABLE,
            schema=ibis.schema(
                {
                    "run_id": "int64",
                    "at": "timestamp",
                    "definitions_hash": "string",
                    "tables": "string",
                    "seconds": "float64",
                }
            ),  # fmt: skip
        )


def add_columns(con: ibis.BaseBackend, table: str, columns: dict[str, str]) -> None:
    """Add extra (non-canonical) columns, kept as features; `columns` maps name → SQL type."""
    have = set(con.table(table).columns)
    for name, sqltype in columns.items():
        if name not in have:
            con.raw_sql(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {sqltype}')


@contextlib.contextmanager
def transaction(con: ibis.BaseBackend) -> Iterator[None]:
    """One all-or-nothing transaction. On DuckDB, optimistic writes are turned off first: with
    them a SIGKILL during COMMIT can leave a torn import (STACK.md §3)."""
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
    touches = con.table("touches")
    contacts = con.table("contacts").select(c_contact_id=_.contact_id, c_account_id=_.account_id)
    joined = touches.left_join(contacts, touches.contact_id == contacts.c_contact_id)
    return joined.mutate(account_id=ibis.coalesce(joined.account_id, joined.c_account_id)).drop(
        "c_contact_id", "c_account_id"
    )


def activities_with_account(con: ibis.BaseBackend) -> ir.Table:
    """Activities with `account_id` resolved through the opportunity, lead or contact they name."""
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
    leads = con.table("leads")
    contacts = con.table("contacts").select(c_id=_.contact_id, c_account=_.account_id)
    j = leads.left_join(contacts, leads.contact_id == contacts.c_id)
    return j.mutate(account_id=ibis.coalesce(j.account_id, j.c_account)).drop("c_id", "c_account")
