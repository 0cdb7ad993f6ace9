"""What a workspace holds: row counts, the last import and run, the warehouse URL.

`fairshare status` answers from the definitions file, the run manifest and, for a DuckDB
warehouse, plain DuckDB: no Ibis, pandas or model library is imported, so it starts in well
under a second. An open connection (`Workspace.status`) or another backend is counted through Ibis.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairshare import results, schema, warehouse
from fairshare.config import CONFIG_NAME, Definitions, definitions_hash, load_definitions

if TYPE_CHECKING:
    import ibis


def describe(
    folder: Path, definitions: Definitions, url: str, con: ibis.BaseBackend | None = None
) -> dict[str, Any]:
    """The status record of a workspace; counted on `con` when given, else read from the warehouse."""
    file = warehouse.duckdb_path(url)
    if con is None and file is not None:
        tables, last_import = warehouse.row_counts(file)
    elif con is None:
        opened = warehouse.connect(url, read_only=True)
        try:
            tables, last_import = _counted(opened)
        finally:
            opened.disconnect()  # another backend's connection is not left to the garbage collector
    else:
        tables, last_import = _counted(con)
    manifest = results.manifest(folder)
    return {
        "workspace": str(folder.resolve()),
        "warehouse": url,
        "currency": definitions.workspace.currency,
        "definitions_hash": definitions_hash(folder / CONFIG_NAME),
        "tables": tables,
        "last_import": last_import,
        "last_run": {k: manifest[k] for k in ("run_id", "at", "definitions_hash")} if manifest else None,
    }


def workspace_status(folder: str | Path, definitions: Definitions | None = None) -> dict[str, Any]:
    """The status of the workspace in `folder` (DefinitionsError or WarehouseError if it cannot be read).

    `definitions`: its fairshare.toml when the caller has parsed it already (the CLI checks the URL first).
    """
    folder = Path(folder)
    definitions = load_definitions(folder / CONFIG_NAME) if definitions is None else definitions
    return describe(folder, definitions, warehouse.resolve_url(definitions.workspace.warehouse, folder))


def _counted(con: ibis.BaseBackend) -> tuple[dict[str, int], dict[str, Any] | None]:
    """Row counts and the last import through Ibis (any backend)."""
    import ibis

    present = set(con.list_tables())
    counts = {t: int(con.table(t).count().execute()) if t in present else 0 for t in schema.TABLES}
    last_import = None
    if warehouse.IMPORTS_TABLE in present:
        imports = con.table(warehouse.IMPORTS_TABLE).order_by(ibis.desc("import_id")).limit(1).execute()
        if len(imports):
            row = imports.iloc[0]
            last_import = {
                "import_id": int(row["import_id"]),
                "at": row["at"].isoformat(),
                "folder": row["folder"],
            }
    return counts, last_import
