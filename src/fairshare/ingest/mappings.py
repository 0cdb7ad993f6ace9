"""CRM export mappings (Salesforce, HubSpot, or your own TOML) translated into canonical files.

A mapping names, per canonical table, the export file it comes from and, per canonical column,
either a source column, a constant, a value map, an id-prefix filter or a lookup into another
mapped table. Translation is one DuckDB query per table; the result is a canonical folder that
then goes through the ordinary import with all of its checks.
"""

from __future__ import annotations

import tomllib
import zlib
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fairshare import schema
from fairshare.ingest.files import csv_relation, diagnose_csv, normalize_header, sniff

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "defaults" / "mappings"


class ColumnRule(BaseModel):
    """How one canonical column is filled from an export row."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = None
    value: str | None = None
    values: dict[str, str] = Field(default_factory=dict)
    default: str | None = None
    when_prefix: str | None = None
    lookup: str | None = None  # "table.column" of another mapped table
    on: str | None = None  # canonical column of this table holding the lookup key


class TableRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    columns: dict[str, str | ColumnRule]
    keep_extra: bool = False


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    tables: dict[str, TableRule]


class MappingError(ValueError):
    """A mapping file or an export folder that does not fit the mapping."""


def load_mapping(name_or_path: str | Path) -> Mapping:
    """A built-in mapping by name (`salesforce`, `hubspot`) or a mapping TOML file."""
    path = Path(name_or_path)
    if not path.exists():
        path = MAPPINGS_DIR / f"{name_or_path}.toml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in MAPPINGS_DIR.glob("*.toml")))
        raise MappingError(
            f"no mapping {str(name_or_path)!r}; built-in mappings: {known}, or pass a .toml file"
        )
    try:
        mapping = Mapping.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as e:
        raise MappingError(f"{path}: {e}") from None
    for table, rule in mapping.tables.items():
        if table not in schema.TABLES:
            raise MappingError(f"{path}: unknown canonical table {table!r}")
        unknown = set(rule.columns) - set(schema.TABLES[table].column_names)
        if unknown:
            raise MappingError(f"{path}: [{table}] has no canonical column(s) {', '.join(sorted(unknown))}")
    return mapping


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _find_export(folder: Path, stem: str) -> Path | None:
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in (".csv", ".parquet") and normalize_header(path.stem) == normalize_header(
            stem
        ):
            return path
    return None


def _expr(rule: str | ColumnRule, headers: dict[str, str], table: str, column: str) -> str:
    if isinstance(rule, str):
        rule = ColumnRule(source=rule)
    if rule.value is not None:
        return _lit(rule.value)
    if rule.lookup:
        return "NULL"  # filled in a second pass
    if rule.source is None:
        raise MappingError(f"[{table}.columns] {column}: needs source, value or lookup")
    src = headers.get(normalize_header(rule.source))
    if src is None:
        return "NULL" if not rule.default else _lit(rule.default)
    v = f"NULLIF(trim(CAST({_q(src)} AS VARCHAR)), '')"
    if rule.when_prefix:
        v = f"CASE WHEN starts_with({v}, {_lit(rule.when_prefix)}) THEN {v} END"
    if rule.values:
        cases = " ".join(
            f"WHEN lower({v}) = {_lit(k.lower())} THEN {_lit(val)}" for k, val in rule.values.items()
        )
        fallback = _lit(rule.default) if rule.default is not None else v
        return f"CASE {cases} WHEN {v} IS NULL THEN NULL ELSE {fallback} END"
    if rule.default is not None:
        return f"coalesce({v}, {_lit(rule.default)})"
    return v


def _unreadable(path: Path, error: duckdb.Error) -> str:
    """`file:line: why` for an export DuckDB could not read (encoding, field counts, quotes)."""
    if path.suffix.lower() != ".parquet":
        try:
            dialect = sniff(path)
            found = [dialect.problem] if dialect.problem else diagnose_csv(path, dialect)
        except (OSError, EOFError, zlib.error):
            found = []
        if found:
            line, reason = found[0]
            return f"{path.name}{f':{line}' if line else ''}: {reason}"
    msg = str(error).split("\n")[0].split("Error: ", 1)[-1].replace(str(path), path.name)
    return f"{path.name}: cannot be read: {msg}; re-export it"


def translate(folder: Path | str, mapping: Mapping, out: Path | str) -> dict[str, Any]:
    """Write canonical CSV files for every mapped table whose export file is in `folder`.

    Returns {canonical table: export file name} for the files that were translated.
    """
    folder, out = Path(folder), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    translated: dict[str, Any] = {}
    lookups: list[tuple[str, str, ColumnRule]] = []
    for table, rule in mapping.tables.items():
        path = _find_export(folder, rule.file)
        if path is None:
            continue
        try:
            if path.suffix.lower() == ".parquet":
                con.execute(f"CREATE TEMP VIEW src AS SELECT * FROM read_parquet({_lit(str(path))})")
                described = [r[0] for r in con.execute("DESCRIBE src").fetchall()]
                headers = {normalize_header(h): h for h in described}
            else:
                dialect = sniff(path)
                if dialect.problem is not None:
                    line, reason = dialect.problem
                    raise MappingError(f"{path.name}{f':{line}' if line else ''}: {reason}")
                con.execute(f"CREATE TEMP VIEW src AS SELECT * FROM {csv_relation(path, dialect)}")
                headers = {normalize_header(h): f"c{i}" for i, h in reversed(list(enumerate(dialect.header)))}
                headers.pop("", None)
            selects = [
                f"CAST({_expr(r, headers, table, c)} AS VARCHAR) AS {_q(c)}" for c, r in rule.columns.items()
            ]
            if rule.keep_extra:
                used = {
                    normalize_header(r if isinstance(r, str) else (r.source or ""))
                    for r in rule.columns.values()
                }
                selects += [f"{_q(raw)} AS {_q(norm)}" for norm, raw in headers.items()
                            if norm not in used and norm not in rule.columns]  # fmt: skip
            con.execute(f"CREATE TEMP TABLE {_q('t_' + table)} AS SELECT {', '.join(selects)} FROM src")
        except duckdb.Error as e:
            raise MappingError(_unreadable(path, e)) from None
        con.execute("DROP VIEW src")
        translated[table] = path.name
        for c, r in rule.columns.items():
            if isinstance(r, ColumnRule) and r.lookup:
                lookups.append((table, c, r))
    for table, column, r in lookups:
        ref_table, ref_col = r.lookup.split(".")
        if ref_table not in translated or not r.on:
            continue
        ref_key = schema.TABLES[ref_table].key[0]
        con.execute(
            f"UPDATE {_q('t_' + table)} AS t SET {_q(column)} = coalesce(l.{_q(ref_col)}, {_lit(r.default or '')}) "
            f"FROM {_q('t_' + ref_table)} AS l WHERE t.{_q(r.on)} = l.{_q(ref_key)}"
        )
        if r.default:
            con.execute(
                f"UPDATE {_q('t_' + table)} SET {_q(column)} = {_lit(r.default)} WHERE {_q(column)} IS NULL"
            )
    for table in translated:
        con.execute(f"COPY {_q('t_' + table)} TO {_lit(str(out / (table + '.csv')))} (HEADER, DELIMITER ',')")
    con.close()
    return translated
