"""The facts layer: per-lead and per-opportunity fact tables, built once per data version.

`ws.facts` (a `Facts`) materialises each fact table as a temporary warehouse table the first time
a model asks for it, and reuses it until the data or the definitions change (a new import, a new
`Definitions` object, another connection). Funnel, SLAs, economics, the scorecard and the forecast
all read the same tables. The journey builder (touchpoints, paths) is `fairshare.journeys`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
import weakref
from collections.abc import Callable, Hashable
from functools import cached_property
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis import _

from fairshare import warehouse
from fairshare.config import Definitions
from fairshare.facts.leads import first_contacts, lead_expr
from fairshare.facts.notes import note_expr
from fairshare.facts.opportunities import opportunity_expr

if TYPE_CHECKING:
    from fairshare.workspace import Workspace


def _drop_quietly(con: ibis.BaseBackend, names: list[str]) -> None:
    for name in names:  # the connection may be closed already: its temp tables died with it
        with contextlib.suppress(Exception):
            warehouse.drop_temporary(con, name)


class TemporaryTables:
    """Expressions materialized once as temporary warehouse tables (they die with the connection,
    and are dropped when their owner is garbage collected). Unlike Ibis's `cache()`, closing the
    workspace first is fine."""

    def __init__(self, con: ibis.BaseBackend):
        self.con = con
        self.names: list[str] = []
        weakref.finalize(self, _drop_quietly, con, self.names)

    def materialize(self, expr: ir.Table) -> ir.Table:
        name = f"_fairshare_tmp_{uuid.uuid4().hex[:16]}"
        table = warehouse.temporary_table(self.con, name, expr)
        self.names.append(name)
        return table


def data_version(ws: Workspace) -> tuple:
    """Changes whenever the warehouse's data or the definitions change (import log + definitions)."""
    try:
        last = ws.con.table(warehouse.IMPORTS_TABLE).import_id.max().execute()
    except Exception:  # noqa: BLE001 (no import log: never share)
        return (object(),)
    return (id(ws.con), None if pd.isna(last) else int(last), id(ws.definitions))


def latest_event_time(ws: Workspace) -> dt.datetime:
    """The default "as of": the latest touch, activity, lifecycle, lead or opportunity time."""
    parts = [
        ws.table("touches").select(t=_.at),
        ws.table("activities").select(t=_.at),
        ws.table("lifecycle").select(t=_.at),
        ws.table("leads").select(t=_.created_at),
        ws.table("opportunities").select(t=_.created_at),
        ws.table("opportunities").select(t=_.closed_at),
    ]
    value = ibis.union(*parts).t.max().execute()
    if value is None or pd.isna(value):
        return dt.datetime(1970, 1, 1)
    return pd.Timestamp(value).to_pydatetime()


class Facts:
    """The fact tables of one workspace at one data version (`ws.facts` keeps the current one)."""

    def __init__(self, ws: Workspace, version: tuple = ()):
        self.ws = ws
        self.version = version
        self.definitions: Definitions = ws.definitions
        self.temporary = TemporaryTables(ws.con)
        self._tables: dict[str, ir.Table] = {}
        self._materialized: dict[Hashable, ir.Table] = {}

    def table(self, name: str) -> ir.Table:
        """A canonical table of the workspace (looked up once)."""
        if name not in self._tables:
            self._tables[name] = self.ws.table(name)
        return self._tables[name]

    def materialize(self, key: Hashable, build: Callable[[], ir.Table]) -> ir.Table:
        """`build()` as a temporary warehouse table, made once per `key` at this data version."""
        if key not in self._materialized:
            self._materialized[key] = self.temporary.materialize(build())
        return self._materialized[key]

    @cached_property
    def latest_event_time(self) -> dt.datetime:
        """The default "as of" of every model (see `latest_event_time`)."""
        return latest_event_time(self.ws)

    def opportunities(self, cached: bool = True) -> ir.Table:
        """One row per opportunity (see `fairshare.facts.opportunities`); `cached=False` gives the
        expression over the canonical tables (for showing its SQL)."""
        if not cached:
            return opportunity_expr(self.table, self.definitions)
        return self.materialize("opportunities", lambda: opportunity_expr(self.table, self.definitions))

    def leads(self, cached: bool = True) -> ir.Table:
        """One row per lead (see `fairshare.facts.leads`); `cached` as in `opportunities`."""
        if not cached:
            return lead_expr(self.table, self.ws.con, self.definitions, self.opportunities(cached=False))
        return self.materialize(
            "leads", lambda: lead_expr(self.table, self.ws.con, self.definitions, self.opportunities())
        )

    def notes(self) -> ir.Table:
        """One row per note on an opportunity, with its deal's dates and outcome (see `facts.notes`)."""
        return self.materialize("notes", lambda: note_expr(self.table, self.opportunities()))

    def first_contacts(self) -> ir.Table:
        """Per lead: the first sales activity at or after creation (see `facts.leads.first_contacts`)."""
        return first_contacts(self.table)


def facts_of(ws: Workspace, current: Facts | None) -> Facts:
    """`current` while the data version holds, else new facts (the old temporary tables are dropped)."""
    version = data_version(ws)
    if current is not None and current.version == version:
        return current
    return Facts(ws, version)
