"""Import a folder of canonical CSV/Parquet files: validate everything, then upsert in one transaction.

The happy path is set-based: DuckDB reads the files and every check is one SQL query per
column. Python only walks a CSV file to turn row numbers into editor line numbers, and only
when there are problems to report.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import ibis

from fairshare import schema, warehouse
from fairshare.ingest.problems import ImportFailed, ImportReport, Problem

#: Problems listed per file before the rest are only counted.
MAX_PROBLEMS_PER_FILE = 50

Progress = Callable[[str], None]

_TRUE = ("true", "t", "1", "yes", "y")
_FALSE = ("false", "f", "0", "no", "n")


def normalize_header(name: str) -> str:
    """`" Account ID "` → `"account_id"`: case, spaces and dashes do not matter in headers."""
    name = name.replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-]+", "_", name)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass
class _Staged:
    """One file read into a temporary all-text table (`__row` = 0-based data row)."""

    table: schema.Table
    path: Path
    stage: str
    columns: dict[str, str]  # normalized name → staged column name
    extras: list[str] = field(default_factory=list)
    problems: list[tuple[int | None, str | None, str]] = field(default_factory=list)
    more: int = 0
    typed: str | None = None
    rows: int = 0
    readable: bool = False

    @property
    def is_parquet(self) -> bool:
        return self.path.suffix.lower() == ".parquet"

    def add(self, row: int | None, column: str | None, reason: str) -> None:
        if len(self.problems) < MAX_PROBLEMS_PER_FILE:
            self.problems.append((row, column, reason))
        else:
            self.more += 1


def find_files(folder: Path) -> tuple[dict[str, Path], list[str], list[Problem]]:
    """Canonical files in `folder` by table name, plus warnings for files that are not tables."""
    files: dict[str, Path] = {}
    warnings: list[str] = []
    problems: list[Problem] = []
    for path in sorted(folder.iterdir()):
        if path.is_dir() or path.name.startswith("."):
            continue
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".parquet", ".tsv", ".txt"):
            warnings.append(f"{path.name}: ignored (not .csv or .parquet)")
            continue
        name = normalize_header(path.stem)
        if name not in schema.TABLES:
            warnings.append(f"{path.name}: ignored (no canonical table called {name!r})")
            continue
        if name in files:
            problems.append(Problem(path.name, None, None,
                                    f"two files for table {name!r} ({files[name].name} and {path.name}); keep one"))  # fmt: skip
            continue
        files[name] = path
    return files, warnings, problems


def _read(con: duckdb.DuckDBPyConnection, t: schema.Table, path: Path, stage: str) -> list[str]:
    """Read `path` into temp table `stage` as text, with a 0-based `__row`; returns raw header names."""
    src = _lit(str(path))
    if path.suffix.lower() == ".parquet":
        relation = f"read_parquet({src})"
        raw_cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
        select = ", ".join(f"CAST({_q(c)} AS VARCHAR) AS {_q(c)}" for c in raw_cols)
    else:
        relation = f"read_csv({src}, all_varchar=true, header=true, strict_mode=true, null_padding=false)"
        raw_cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
        select = "*"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_q(stage)} AS "
        f"SELECT (row_number() OVER ()) - 1 AS __row, {select} FROM {relation}"
    )
    return raw_cols


def _value_checks(t: schema.Table, s: _Staged) -> list[str]:
    """SQL selecting (__row, column, reason) for every bad value of every canonical column."""
    parts: list[str] = []
    for col in t.columns:
        if col.name not in s.columns:
            continue
        v = _q(s.columns[col.name])
        present = f"({v} IS NOT NULL AND trim({v}) <> '')"
        show = f"'''' || left({v}, 40) || ''''"
        if col.required:
            parts.append(f"SELECT __row, {_lit(col.name)}, 'required value is missing' FROM {_q(s.stage)} "
                         f"WHERE NOT {present}")  # fmt: skip
        if col.dtype in ("float", "int"):
            num = f"TRY_CAST(trim({v}) AS DOUBLE)"
            parts.append(
                f"SELECT __row, {_lit(col.name)}, 'not a number: ' || {show} FROM {_q(s.stage)} "
                f"WHERE {present} AND ({num} IS NULL OR isnan({num}) OR isinf({num}))"
            )
            if col.dtype == "int":
                parts.append(
                    f"SELECT __row, {_lit(col.name)}, 'not a whole number: ' || {show} FROM {_q(s.stage)} "
                    f"WHERE {present} AND {num} IS NOT NULL AND NOT isinf({num}) AND {num} <> round({num})"
                )
            if col.non_negative:
                what = "amount" if col.name in ("amount", "cost", "budget", "hourly_cost") else "value"
                parts.append(
                    f"SELECT __row, {_lit(col.name)}, 'negative {what} ' || trim({v}) || ' (must be ≥ 0)' "
                    f"FROM {_q(s.stage)} WHERE {present} AND {num} < 0"
                )
        elif col.dtype in ("timestamp", "date"):
            parts.append(
                f"SELECT __row, {_lit(col.name)}, 'not an ISO-8601 "
                f"{'date' if col.dtype == 'date' else 'timestamp'}: ' || {show} || "
                f"' (e.g. 2026-03-01 or 2026-03-01T09:30:00Z)' FROM {_q(s.stage)} "
                f"WHERE {present} AND TRY_CAST(trim({v}) AS TIMESTAMPTZ) IS NULL"
            )
        elif col.dtype == "bool":
            allowed = ", ".join(_lit(x) for x in _TRUE + _FALSE)
            parts.append(
                f"SELECT __row, {_lit(col.name)}, 'not true/false: ' || {show} FROM {_q(s.stage)} "
                f"WHERE {present} AND lower(trim({v})) NOT IN ({allowed})"
            )
        if col.enum:
            allowed = ", ".join(_lit(x.lower()) for x in col.enum)
            parts.append(
                f"SELECT __row, {_lit(col.name)}, 'unknown value ' || {show} || "
                f"'; allowed: {', '.join(col.enum)}' FROM {_q(s.stage)} "
                f"WHERE {present} AND lower(trim({v})) NOT IN ({allowed})"
            )
    for group in t.one_of:
        have = [g for g in group if g in s.columns]
        cond = (
            " AND ".join(f"({_q(s.columns[g])} IS NULL OR trim({_q(s.columns[g])}) = '')" for g in have)
            or "TRUE"
        )
        parts.append(f"SELECT __row, {_lit(group[0])}, 'needs at least one of {', '.join(group)}' "
                     f"FROM {_q(s.stage)} WHERE {cond}")  # fmt: skip
    return parts


def _typed_expr(col: schema.Column, staged_name: str) -> str:
    v = f"NULLIF(trim({_q(staged_name)}), '')"
    if col.dtype == "float":
        return f"CAST({v} AS DOUBLE)"
    if col.dtype == "int":
        return f"CAST(round(CAST({v} AS DOUBLE)) AS BIGINT)"
    if col.dtype == "timestamp":
        return f"CAST(CAST({v} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)"
    if col.dtype == "date":
        return f"CAST(CAST({v} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS DATE)"
    if col.dtype == "bool":
        return f"CASE WHEN lower({v}) IN ({', '.join(map(_lit, _TRUE))}) THEN TRUE WHEN {v} IS NULL THEN NULL ELSE FALSE END"
    if col.enum:
        cases = " ".join(f"WHEN lower({v}) = {_lit(x.lower())} THEN {_lit(x)}" for x in col.enum)
        return f"CASE {cases} ELSE NULL END"
    return v


def _stage_file(con: duckdb.DuckDBPyConnection, t: schema.Table, path: Path) -> _Staged:
    stage = f"__stage_{t.name}"
    s = _Staged(t, path, stage, {})
    if path.stat().st_size == 0 or not path.read_bytes()[:4096].strip(b"\xef\xbb\xbf \r\n\t"):
        s.add(None, None, f"file is empty; expected a header line naming the columns "
                          f"({', '.join(t.required)} are required) and one row per {t.name[:-1] or t.name}")  # fmt: skip
        return s
    try:
        raw_cols = _read(con, t, path, stage)
    except duckdb.Error as e:
        msg = str(e).split("\n")[0]
        m = re.search(r"line[: ]+(\d+)", str(e), flags=re.IGNORECASE)
        line = int(m.group(1)) if m else None
        s.add(None, None, f"cannot be read as {'Parquet' if s.is_parquet else 'CSV'}"
                          f"{f' (near line {line})' if line else ''}: {msg}")  # fmt: skip
        return s
    seen: dict[str, str] = {}
    for raw in raw_cols:
        norm = normalize_header(raw)
        if norm in seen:
            s.add(None if s.is_parquet else -1, raw, f"column appears twice (as {seen[norm]!r} and {raw!r})")
        seen[norm] = raw
    s.columns = seen
    missing = [c for c in t.required if c not in seen]
    for c in missing:
        s.add(None if s.is_parquet else -1, c,
              f"required column missing; the file has: {', '.join(raw_cols) or '(none)'}")  # fmt: skip
    s.extras = [n for n in seen if n not in t.column_names and n != "__row"]
    s.rows = con.execute(f"SELECT count(*) FROM {_q(stage)}").fetchone()[0]
    s.readable = True
    if missing:
        return s
    checks = _value_checks(t, s)
    if checks:
        union = " UNION ALL ".join(checks)
        total = con.execute(f"SELECT count(*) FROM ({union})").fetchone()[0]
        if total:
            for row, column, reason in con.execute(
                f"SELECT * FROM ({union}) ORDER BY 1, 2 LIMIT {MAX_PROBLEMS_PER_FILE}"
            ).fetchall():
                s.add(row, column, reason)
            s.more += max(0, total - MAX_PROBLEMS_PER_FILE)
    repeated_keys = _check_duplicates(con, s)
    if s.problems:
        return s
    typed = f"__typed_{t.name}"
    cols = [
        f"{_typed_expr(c, seen[c.name]) if c.name in seen else 'NULL'} AS {_q(c.name)}" for c in t.columns
    ]
    cols += [f"NULLIF(trim({_q(seen[x])}), '') AS {_q(x)}" for x in s.extras]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_q(typed)} AS SELECT {'DISTINCT ' if repeated_keys else ''}{', '.join(cols)} FROM {_q(stage)}"
    )
    s.typed = typed
    s.rows = con.execute(f"SELECT count(*) FROM {_q(typed)}").fetchone()[0]
    return s


def _check_duplicates(con: duckdb.DuckDBPyConnection, s: _Staged) -> bool:
    """Same key twice with different values is an error; exact repeats are merged silently.

    Returns whether any key repeats (only then are rows hashed and de-duplicated).
    """
    keys = [_q(s.columns[k]) if k in s.columns else "NULL" for k in s.table.key]
    distinct = con.execute(
        f"SELECT count(*) FROM (SELECT DISTINCT {', '.join(keys)} FROM {_q(s.stage)})"
    ).fetchone()[0]
    if distinct == s.rows:
        return False
    row_hash = (
        "md5(concat_ws(chr(31), "
        + ", ".join(f"coalesce({_q(c)}, chr(30))" for c in s.columns.values())
        + "))"
    )
    aliases = ", ".join(f"{k} AS k{i}" for i, k in enumerate(keys))
    knames = ", ".join(f"k{i}" for i in range(len(keys)))
    match = " AND ".join(f"d.k{i} IS NOT DISTINCT FROM g.k{i}" for i in range(len(keys)))
    sql = f"""
        WITH d AS (SELECT __row, {aliases}, {row_hash} AS h FROM {_q(s.stage)}),
             g AS (SELECT {knames}, min(__row) AS first_row FROM d GROUP BY {knames} HAVING count(DISTINCT h) > 1)
        SELECT d.__row, g.first_row FROM d JOIN g ON {match}
        WHERE d.__row <> g.first_row ORDER BY d.__row LIMIT {MAX_PROBLEMS_PER_FILE + 1}
    """
    label = ", ".join(s.table.key)
    for row, first in con.execute(sql).fetchall():
        s.add(
            row,
            label,
            f"duplicate key with different values than the row at {{row:{first}}}; keep one version",
        )


def _check_foreign_keys(con: duckdb.DuckDBPyConnection, staged: dict[str, _Staged], existing: set[str],
                        wh_prefix: str | None) -> None:  # fmt: skip
    """Every reference must resolve to a row in this import or already in the warehouse."""
    for s in staged.values():
        if not s.readable:
            continue
        for col in s.table.columns:
            if col.references is None or col.name not in s.columns:
                continue
            ref_table, ref_col = col.references
            sources = []
            ref = staged.get(ref_table)
            if ref is not None and ref.readable and ref_col in ref.columns:
                sources.append(f"SELECT trim({_q(ref.columns[ref_col])}) AS k FROM {_q(ref.stage)}")
            if wh_prefix is not None and ref_table in existing:
                sources.append(f"SELECT {_q(ref_col)} AS k FROM {wh_prefix}{_q(ref_table)}")
            known = " UNION ALL ".join(sources) if sources else "SELECT NULL::VARCHAR AS k WHERE FALSE"
            sql = f"""
                SELECT st.__row, trim(st.{_q(s.columns[col.name])}) FROM {_q(s.stage)} st
                WHERE NULLIF(trim(st.{_q(s.columns[col.name])}), '') IS NOT NULL
                  AND trim(st.{_q(s.columns[col.name])}) NOT IN (SELECT k FROM ({known}) WHERE k IS NOT NULL)
                ORDER BY 1
            """
            total = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
            if not total:
                continue
            for row, value in con.execute(f"{sql} LIMIT {MAX_PROBLEMS_PER_FILE}").fetchall():
                s.add(row, col.name, f"unknown {ref_table[:-1] if ref_table.endswith('s') else ref_table} "
                                     f"{value!r}: not in {ref_table} (this import or the warehouse)")  # fmt: skip
            s.more += max(0, total - MAX_PROBLEMS_PER_FILE)


def _csv_line_starts(path: Path) -> list[int]:
    """Editor line number where each data record starts (index = 0-based data row)."""
    starts: list[int] = []
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        head = fh.readline()
        delim = max((",", ";", "\t", "|"), key=head.count)
        fh.seek(0)
        reader = csv.reader(fh, delimiter=delim)
        prev_end = 0
        for i, record in enumerate(reader):
            start = prev_end + 1
            prev_end = reader.line_num
            if i == 0 or not record:  # header, or a blank line DuckDB skips too
                continue
            starts.append(start)
    return starts


def _problems_of(s: _Staged) -> list[Problem]:
    out: list[Problem] = []
    starts = (
        _csv_line_starts(s.path)
        if (not s.is_parquet and any(r not in (None, -1) for r, _, _ in s.problems))
        else []
    )

    def where(row: int | None) -> int | None:
        if row is None:
            return None
        if row == -1:
            return 1
        if s.is_parquet:
            return row + 1
        return starts[row] if row < len(starts) else row + 2

    for row, column, reason in sorted(s.problems, key=lambda p: (-2 if p[0] is None else p[0], p[1] or "")):
        reason = re.sub(
            r"\{row:(\d+)\}",
            lambda m: f"{'row' if s.is_parquet else 'line'} {where(int(m.group(1)))}",
            reason,
        )
        out.append(
            Problem(s.path.name, where(row), column, reason, row_based=s.is_parquet and row not in (None, -1))
        )
    return out


def _stage_connection(con: ibis.BaseBackend | None) -> tuple[duckdb.DuckDBPyConnection, str | None, set[str]]:
    """DuckDB connection to stage in: the warehouse's own (DuckDB) or a private in-memory one."""
    if con is not None and warehouse.is_duckdb(con):
        raw = con.con
        return raw, "", set(con.list_tables())
    raw = duckdb.connect()
    raw.execute("SET TimeZone='UTC'")
    return raw, None, set()


def validate_folder(folder: Path | str, con: ibis.BaseBackend | None = None,
                    progress: Progress | None = None) -> ImportReport:  # fmt: skip
    """Check a folder against the canonical format (and the warehouse `con`, if given) without writing."""
    report, staged, raw = _validate(Path(folder), con, progress)
    _drop_temps(raw, staged)
    return report


def _validate(folder: Path, con: ibis.BaseBackend | None, progress: Progress | None):
    report = ImportReport(folder=str(folder))
    if not folder.is_dir():
        report.problems.append(
            Problem(str(folder), None, None, "not a folder; pass the folder holding the CSV/Parquet files")
        )
        return report, {}, None
    files, report.warnings, report.problems = find_files(folder)
    present = set(files) | (set(con.list_tables()) if con is not None else set())
    if not files:
        report.problems.append(Problem(str(folder), None, None,
                                       f"no canonical files found; expected files named like {', '.join(f'{n}.csv' for n in list(schema.TABLES)[:3])}, …"))  # fmt: skip
        return report, {}, None
    raw, wh_prefix, existing = _stage_connection(con)
    if con is not None and warehouse.is_duckdb(con):
        existing = existing & set(schema.TABLES)
    for name in schema.REQUIRED_TABLES:
        if name not in present:
            report.problems.append(
                Problem(
                    str(folder), None, None, f"missing required table {name!r} ({name}.csv or {name}.parquet)"
                )
            )
    if not (set(schema.REQUIRED_ONE_OF_TABLES) & present):
        report.problems.append(
            Problem(str(folder), None, None, "needs touches or activities (at least one of them)")
        )
    staged: dict[str, _Staged] = {}
    for name in schema.LOAD_ORDER:
        if name not in files:
            continue
        if progress:
            progress(f"checking {files[name].name}")
        staged[name] = _stage_file(raw, schema.TABLES[name], files[name])
    if progress:
        progress("checking references")
    _check_foreign_keys(raw, staged, existing, wh_prefix)
    for s in staged.values():
        report.rows[s.table.name] = s.rows
        report.problems.extend(_problems_of(s))
        if s.more:
            report.truncated[s.path.name] = s.more
    return report, staged, raw


def _drop_temps(raw: duckdb.DuckDBPyConnection | None, staged: dict[str, _Staged]) -> None:
    if raw is None:
        return
    for s in staged.values():
        raw.execute(f"DROP TABLE IF EXISTS {_q(s.stage)}")
        if s.typed:
            raw.execute(f"DROP TABLE IF EXISTS {_q(s.typed)}")


def import_folder(
    con: ibis.BaseBackend, folder: Path | str, progress: Progress | None = None
) -> ImportReport:
    """Validate `folder`, then upsert every table in one transaction (all or nothing).

    Raises ImportFailed (nothing written) when any problem is found.
    """
    if not warehouse.is_duckdb(con):
        raise NotImplementedError(
            "imports currently stage through DuckDB; use a DuckDB warehouse (docs/decisions.md)"
        )
    folder = Path(folder)
    warehouse.ensure_canonical_tables(con)
    report, staged, raw = _validate(folder, con, progress)
    try:
        if not report.ok:
            raise ImportFailed(report)
        if progress:
            progress("writing")
        with warehouse.transaction(con):
            for name in schema.LOAD_ORDER:
                s = staged.get(name)
                if s is None or s.typed is None:
                    continue
                warehouse.add_columns(con, name, {x: "VARCHAR" for x in s.extras})
                key_match = " AND ".join(f"t.{_q(k)} IS NOT DISTINCT FROM n.{_q(k)}" for k in s.table.key)
                raw.execute(f"DELETE FROM {_q(name)} AS t USING {_q(s.typed)} n WHERE {key_match}")
                cols = ", ".join(_q(c) for c in s.table.column_names + s.extras)
                raw.execute(f"INSERT INTO {_q(name)} ({cols}) SELECT {cols} FROM {_q(s.typed)}")
            import_id = raw.execute(
                f"SELECT coalesce(max(import_id), 0) + 1 FROM {warehouse.IMPORTS_TABLE}"
            ).fetchone()[0]
            raw.execute(
                f"INSERT INTO {warehouse.IMPORTS_TABLE} VALUES (?, now()::TIMESTAMP, ?, ?, ?)",
                [import_id, str(folder.resolve()), json.dumps(report.rows), sum(report.rows.values())],
            )
        report.written = True
        return report
    finally:
        _drop_temps(raw, staged)
