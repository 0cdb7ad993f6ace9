"""Import a folder of canonical CSV/Parquet files: validate everything, then upsert in one transaction.

The happy path is set-based: DuckDB reads the files and every check is one SQL query per
column. Python only walks a CSV file to turn row numbers into editor line numbers, and only
when there are problems to report.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
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
#: Written by databases and spreadsheets for "no value"; read as missing in number, time and
#: true/false columns (text columns keep them: region "NA" is North America).
_NULL_MARKERS = ("null", "none", "n/a", "na", "#n/a", "nan")
_NUMBER_HINT = (
    "write plain numbers with '.' for decimals, no thousands separators or currency symbols (e.g. 1234.5)"
)
_TIME_EXAMPLE = "e.g. 2026-03-01 or 2026-03-01T09:30:00Z"
_UTF8_HINT = "re-export the file as UTF-8 (CSV UTF-8)"
#: Longest CSV line (one record) DuckDB will read; long notes fields are fine.
_MAX_LINE_BYTES = 256 * 1024 * 1024
_INT_LIMIT = 9.2e18
_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet")


def normalize_header(name: str) -> str:
    """`" Account ID "` → `"account_id"`: case, spaces and dashes do not matter in headers.

    Double quotes are dropped so that every name is a safe SQL identifier.
    """
    name = name.replace("\ufeff", "").replace('"', "").strip().lower()
    return re.sub(r"[\s\-]+", "_", name)


def _singular(table: str) -> str:
    """`opportunities` → `opportunity`, `reps` → `rep` (for messages)."""
    if table.endswith("ies"):
        return table[:-3] + "y"
    return table[:-1] if table.endswith("s") else table


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
    delim: str = ","
    lines: list[tuple[int | None, str]] = field(default_factory=list)  # file-level problems by editor line

    @property
    def is_parquet(self) -> bool:
        return self.path.suffix.lower() == ".parquet"

    def add(self, row: int | None, column: str | None, reason: str) -> None:
        if len(self.problems) < MAX_PROBLEMS_PER_FILE:
            self.problems.append((row, column, reason))
        else:
            self.more += 1


def _table_file(path: Path) -> tuple[str, str] | None:
    """(table stem, suffix) of a data file name (`Touches.csv.gz` → ("Touches", ".csv")), else None."""
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem, dot, suffix = name.rpartition(".")
    suffix = (dot + suffix).lower()
    if not dot or not stem or suffix not in _SUFFIXES or (suffix == ".parquet" and name != path.name):
        return None
    return stem, suffix


def find_files(folder: Path) -> tuple[dict[str, Path], list[str], list[Problem]]:
    """Canonical files in `folder` by table name, plus warnings for files that are not tables."""
    files: dict[str, Path] = {}
    warnings: list[str] = []
    problems: list[Problem] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            warnings.append(
                f"{path.name}: ignored (subfolder; put the files directly in {folder.name or folder})"
            )
            continue
        found = _table_file(path)
        if found is None:
            warnings.append(f"{path.name}: ignored (not .csv, .csv.gz, .tsv, .txt or .parquet)")
            continue
        name = normalize_header(found[0])
        if name not in schema.TABLES:
            warnings.append(f"{path.name}: ignored (no canonical table called {name!r})")
            continue
        if name in files:
            problems.append(Problem(path.name, None, None,
                                    f"two files for table {name!r} ({files[name].name} and {path.name}); keep one"))  # fmt: skip
            continue
        if not path.exists():
            problems.append(Problem(path.name, None, None,
                                    f"cannot be read: broken link to {path.readlink()}; fix or remove the link"))  # fmt: skip
            continue
        files[name] = path
    return files, warnings, problems


def _open_bytes(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


def _newlines(data: bytes) -> int:
    """Line breaks in `data` as an editor counts them (\\n, \\r\\n and a lone \\r)."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


@dataclass
class _Dialect:
    """What Python reads from the top of a CSV file before DuckDB reads the whole of it."""

    delim: str = ","
    header: list[str] = field(default_factory=list)
    skip: int = 0  # blank lines before the header
    problem: tuple[int | None, str] | None = None  # (editor line, reason) when the file cannot be read


def sniff(path: Path) -> _Dialect:
    """Encoding, delimiter and header of a CSV file, from its first 64 KB."""
    d = _Dialect()
    with _open_bytes(path) as fh:
        head = fh.read(1 << 16)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4096]:
        d.problem = (None, f"file is UTF-16 (Excel 'Unicode text'), not UTF-8; {_UTF8_HINT}")
        return d
    head = head.removeprefix(b"\xef\xbb\xbf")
    blank = re.match(rb"(?:[ \t]*(?:\r\n|\r|\n))*", head).group(0)
    d.skip = _newlines(blank)
    first = re.split(rb"\r\n|\r|\n", head[len(blank) :], maxsplit=1)[0]
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as e:
        d.problem = (
            d.skip + 1,
            f"not UTF-8 (byte 0x{first[e.start]:02x} at line {d.skip + 1}); {_UTF8_HINT}",
        )
        return d
    if path.name.lower().removesuffix(".gz").endswith(".tsv"):
        d.delim = "\t"
    else:
        counts = {c: text.count(c) for c in (",", ";", "\t", "|")}
        best = max(counts, key=counts.get)
        d.delim = best if counts[best] else ","
    d.header = next(csv.reader([text], delimiter=d.delim), [])
    return d


def diagnose_csv(path: Path, dialect: _Dialect) -> list[tuple[int, str]]:
    """Why DuckDB could not read a CSV file, as (editor line, reason): encoding, field counts, quotes.

    Only runs when reading failed, so a Python pass over the file is fine here.
    """
    line, carry = 1, b""
    with _open_bytes(path) as fh:
        while True:
            chunk = fh.read(1 << 20)
            data = carry + chunk
            try:
                data.decode("utf-8")
                ok, carry = data, b""
            except UnicodeDecodeError as e:
                if chunk and e.end == len(data) and len(data) - e.start < 4:  # cut at the chunk boundary
                    ok, carry = data[: e.start], data[e.start :]
                else:
                    line += _newlines(data[: e.start])
                    return [(line, f"not UTF-8 (byte 0x{data[e.start]:02x} at line {line}); {_UTF8_HINT}")]
            line += _newlines(ok)
            if not chunk:
                break
    width = len(dialect.header)
    found: list[tuple[int, str]] = []
    with _open_bytes(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=dialect.delim, strict=True)
        prev_end, header_seen = 0, False
        try:
            for record in reader:
                start, prev_end = prev_end + 1, reader.line_num
                if not record:
                    continue
                if not header_seen:
                    header_seen = True
                    continue
                if len(record) != width and len(found) <= MAX_PROBLEMS_PER_FILE:
                    delim = "tab" if dialect.delim == "\t" else f"'{dialect.delim}'"
                    found.append((start, f"line has {len(record)} field{'s' if len(record) != 1 else ''}, "
                                         f"the header has {width}; quote values that contain {delim}"))  # fmt: skip
        except csv.Error as e:
            start = prev_end + 1
            if "end of data" in str(e) or "EOF" in str(e):
                found.append((start, 'a quote (") opened here is never closed; close it, or double quotes '
                                     'inside values ("")'))  # fmt: skip
            else:
                found.append((start, "text after a closing quote; quote the whole value and double the "
                                     'quotes inside it ("say ""hi""")'))  # fmt: skip
    return found


def _parquet_columns(con: duckdb.DuckDBPyConnection, s: _Staged) -> tuple[list[str], list[str]]:
    """Raw column names of a Parquet file and, for each, a SQL expression reading it as text."""
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(str(s.path))})").fetchall()
    canonical = set(s.table.column_names)
    sources = []
    for name, sqltype, *_ in described:
        nested = "[" in sqltype or sqltype.startswith(("STRUCT", "MAP", "UNION"))
        if nested and normalize_header(name) in canonical:
            s.add(
                None,
                name,
                f"nested Parquet type {sqltype} cannot be read as text; write it as a plain column",
            )
        sources.append(f"CAST({f'to_json({_q(name)})' if nested else _q(name)} AS VARCHAR)")
    return [r[0] for r in described], sources


def csv_relation(path: Path, dialect: _Dialect) -> str:
    """DuckDB `read_csv(...)` of `path` with the dialect Python found; columns are named c0, c1, ..."""
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(dialect.header))) + "}"
    return (
        f"read_csv({_lit(str(path))}, auto_detect=false, header=true, skip={dialect.skip}, "
        f"delim={_lit(dialect.delim)}, quote='\"', escape='\"', columns={columns}, strict_mode=true, "
        f"null_padding=false, max_line_size={_MAX_LINE_BYTES}, encoding='utf-8')"
    )


def _cell(col: schema.Column | None, source: str) -> str:
    """SQL for a cell as a trimmed value, NULL when empty (or a null marker, in typed columns).

    Applied once, when a file is staged: every check and the typed table read the cleaned value.
    """
    v = f"NULLIF(trim({source}), '')"
    if col is None or col.dtype == "string":
        return v
    markers = ", ".join(_lit(m) for m in _NULL_MARKERS)
    # the length test first keeps lower() off the long values (timestamps): 3x faster on big files
    return f"CASE WHEN length({source}) <= 12 AND lower(trim({source})) IN ({markers}) THEN NULL ELSE {v} END"


def _value_checks(t: schema.Table, s: _Staged) -> list[str]:
    """SQL selecting (__row, column, reason) for every bad value of every canonical column."""
    parts: list[str] = []
    for col in t.columns:
        if col.name not in s.columns:
            continue
        v = _q(s.columns[col.name])
        present = f"({v} IS NOT NULL)"
        show = f"'''' || left({v}, 40) || ''''"
        if col.required:
            parts.append(f"SELECT __row, {_lit(col.name)}, 'required value is missing' FROM {_q(s.stage)} "
                         f"WHERE NOT {present}")  # fmt: skip
        if col.dtype in ("float", "int"):
            num = f"TRY_CAST({v} AS DOUBLE)"
            hint = (f"CASE WHEN regexp_matches({v}, '[0-9]') AND regexp_matches({v}, '[,$€£¥]|[A-Za-z]{{3}}') "
                    f"THEN {_lit('; ' + _NUMBER_HINT)} ELSE '' END")  # fmt: skip
            parts.append(
                f"SELECT __row, {_lit(col.name)}, 'not a number: ' || {show} || {hint} FROM {_q(s.stage)} "
                f"WHERE {present} AND ({num} IS NULL OR isnan({num}) OR isinf({num}))"
            )
            if col.dtype == "int":
                parts.append(
                    f"SELECT __row, {_lit(col.name)}, 'not a whole number: ' || {show} FROM {_q(s.stage)} "
                    f"WHERE {present} AND {num} IS NOT NULL AND NOT isinf({num}) AND {num} <> round({num})"
                )
                parts.append(
                    f"SELECT __row, {_lit(col.name)}, 'number too large: ' || {show} FROM {_q(s.stage)} "
                    f"WHERE {present} AND NOT isinf({num}) AND abs({num}) >= {_INT_LIMIT}"
                )
            if col.non_negative:
                what = "amount" if col.name in ("amount", "cost", "budget", "hourly_cost") else "value"
                parts.append(
                    f"SELECT __row, {_lit(col.name)}, 'negative {what} ' || {v} || ' (must be ≥ 0)' "
                    f"FROM {_q(s.stage)} WHERE {present} AND {num} < 0"
                )
        elif col.dtype in ("timestamp", "date"):
            ts = f"TRY_CAST({v} AS TIMESTAMPTZ)"
            hint = (
                f"CASE WHEN regexp_matches({v}, '^[0-9]{{1,2}}[/.][0-9]{{1,2}}[/.][0-9]{{2,4}}') "
                f"THEN {_lit(f' (day/month order is ambiguous; write dates as YYYY-MM-DD, {_TIME_EXAMPLE})')} "
                f"WHEN regexp_matches({v}, '^[0-9]{{9,13}}([.][0-9]+)?$') "
                f"THEN {_lit(f' (looks like Unix epoch seconds; write ISO-8601 instead, {_TIME_EXAMPLE})')} "
                f"ELSE {_lit(f' ({_TIME_EXAMPLE})')} END"
            )
            parts.append(
                f"SELECT __row, {_lit(col.name)}, 'not an ISO-8601 "
                f"{'date' if col.dtype == 'date' else 'timestamp'}: ' || {show} || {hint} FROM {_q(s.stage)} "
                f"WHERE {present} AND NOT coalesce(isfinite({ts}), false)"
            )
        elif col.dtype == "bool":
            allowed = ", ".join(_lit(x) for x in _TRUE + _FALSE)
            parts.append(
                f"SELECT __row, {_lit(col.name)}, 'not true/false: ' || {show} || "
                f"' (true/false, yes/no or 1/0)' FROM {_q(s.stage)} "
                f"WHERE {present} AND lower({v}) NOT IN ({allowed})"
            )
        if col.enum:
            allowed = ", ".join(_lit(x.lower()) for x in col.enum)
            parts.append(
                f"SELECT __row, {_lit(col.name)}, 'unknown value ' || {show} || "
                f"'; allowed: {', '.join(col.enum)}' FROM {_q(s.stage)} "
                f"WHERE {present} AND lower({v}) NOT IN ({allowed})"
            )
    for group in t.one_of:
        have = [g for g in group if g in s.columns]
        cond = " AND ".join(f"{_q(s.columns[g])} IS NULL" for g in have) or "TRUE"
        parts.append(f"SELECT __row, {_lit(group[0])}, 'needs at least one of {', '.join(group)}' "
                     f"FROM {_q(s.stage)} WHERE {cond}")  # fmt: skip
    return parts


def _typed_expr(col: schema.Column, staged_name: str) -> str:
    v = _q(staged_name)
    if col.dtype == "float":
        return f"CAST({v} AS DOUBLE) + 0.0"  # + 0.0 turns -0 into 0
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
    try:
        return _stage_readable(con, s)
    except (OSError, EOFError, zlib.error) as e:  # unreadable, permission denied, corrupt .gz
        s.problems.clear()
        s.lines.clear()
        s.readable = False
        s.add(
            None,
            None,
            f"cannot be read: {getattr(e, 'strerror', None) or e}; check the file and its permissions",
        )
        return s


def _map_header(s: _Staged, raw_cols: list[str]) -> dict[str, str]:
    """Normalized header name → staged column (`c<i>`); duplicates are problems, unnamed columns skipped."""
    seen: dict[str, str] = {}
    raw_of: dict[str, str] = {}
    row_of_header = None if s.is_parquet else -1
    for i, raw in enumerate(raw_cols):
        norm = normalize_header(raw)
        if not norm:
            continue  # checked once staged: an unnamed column must be empty (a trailing delimiter)
        if norm in seen:
            s.add(row_of_header, raw, f"column appears twice (as {raw_of[norm]!r} and {raw!r}); keep one")
            continue
        seen[norm] = f"c{i}"
        raw_of[norm] = raw
    return seen


def _stage_readable(con: duckdb.DuckDBPyConnection, s: _Staged) -> _Staged:
    t, path, stage = s.table, s.path, s.stage
    with _open_bytes(path) as fh:
        head = fh.read(4096)
    if not head.strip(b"\xef\xbb\xbf \r\n\t"):
        s.add(None, None, f"file is empty; expected a header line naming the columns "
                          f"({', '.join(t.required)} are required) and one row per {_singular(t.name)}")  # fmt: skip
        return s
    dialect = None
    try:
        if s.is_parquet:
            raw_cols, sources = _parquet_columns(con, s)
            relation = f"read_parquet({_lit(str(path))})"
        else:
            dialect = sniff(path)
            if dialect.problem is not None:
                s.lines.append(dialect.problem)
                return s
            s.delim = dialect.delim
            raw_cols, sources = dialect.header, [f"c{i}" for i in range(len(dialect.header))]
            relation = csv_relation(path, dialect)
        if s.problems:  # nested Parquet types in canonical columns
            return s
        seen = _map_header(s, raw_cols)
        select = [
            f"{_cell(t.column(n) if n in t.column_names else None, sources[int(c[1:])])} AS {c}"
            for n, c in seen.items()
        ]
        select += [f"NULLIF(trim({sources[i]}), '') AS u{i}" for i, raw in enumerate(raw_cols)
                   if not normalize_header(raw)]  # fmt: skip
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_q(stage)} AS "
            f"SELECT (row_number() OVER ()) - 1 AS __row{''.join(', ' + x for x in select)} FROM {relation}"
        )
    except duckdb.Error as e:
        if dialect is not None:
            s.lines.extend(diagnose_csv(path, dialect)[:MAX_PROBLEMS_PER_FILE])
        if not s.lines:
            s.problems.clear()
            msg = str(e).split("\n")[0].split("Error: ", 1)[-1].replace(str(path), path.name)
            m = re.search(r"line[: ]+(\d+)", str(e), flags=re.IGNORECASE)
            line = int(m.group(1)) if m and dialect is not None else None
            s.add(None, None, f"cannot be read as {'Parquet' if s.is_parquet else 'CSV'}"
                              f"{f' (near line {line})' if line else ''}: {msg}; "
                              f"re-export it{' or use CSV' if s.is_parquet else ''}")  # fmt: skip
        return s
    row_of_header = None if s.is_parquet else -1
    for i, raw in enumerate(raw_cols):
        if not normalize_header(raw):
            filled = con.execute(f"SELECT count(*) FROM {_q(stage)} WHERE u{i} IS NOT NULL").fetchone()[0]
            if filled:
                s.add(row_of_header, f"column {i + 1}",
                      "has no name but holds values; name it in the header or delete it")  # fmt: skip
    s.columns = seen
    missing = [c for c in t.required if c not in seen]
    for c in missing:
        s.add(row_of_header, c,
              f"required column missing; the file has: {', '.join(raw_cols) or '(none)'}")  # fmt: skip
    s.extras = [n for n in seen if n not in t.column_names]
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
    cols += [f"{_q(seen[x])} AS {_q(x)}" for x in s.extras]
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
    return True


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
            if ref is not None and not (ref.readable and ref_col in ref.columns):
                continue  # the referenced file is already reported as unreadable: no cascade of errors
            if ref is not None:
                sources.append(f"SELECT {_q(ref.columns[ref_col])} AS k FROM {_q(ref.stage)}")
            if wh_prefix is not None and ref_table in existing:
                sources.append(f"SELECT {_q(ref_col)} AS k FROM {wh_prefix}{_q(ref_table)}")
            known = " UNION ALL ".join(sources) if sources else "SELECT NULL::VARCHAR AS k WHERE FALSE"
            sql = f"""
                SELECT st.__row, st.{_q(s.columns[col.name])} FROM {_q(s.stage)} st
                WHERE st.{_q(s.columns[col.name])} IS NOT NULL
                  AND st.{_q(s.columns[col.name])} NOT IN (SELECT k FROM ({known}) WHERE k IS NOT NULL)
                ORDER BY 1
            """
            total = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
            if not total:
                continue
            for row, value in con.execute(f"{sql} LIMIT {MAX_PROBLEMS_PER_FILE}").fetchall():
                s.add(row, col.name, f"unknown {_singular(ref_table)} "
                                     f"{value!r}: not in {ref_table} (this import or the warehouse)")  # fmt: skip
            s.more += max(0, total - MAX_PROBLEMS_PER_FILE)


def _csv_line_starts(path: Path, delim: str) -> list[int]:
    """Editor line number where each data record starts (index = 0-based data row)."""
    starts: list[int] = []
    with (
        _open_bytes(path) as raw,
        io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="") as fh,
    ):
        reader = csv.reader(fh, delimiter=delim)
        prev_end, header_seen = 0, False
        for record in reader:
            start = prev_end + 1
            prev_end = reader.line_num
            if not record or (len(record) == 1 and not record[0].strip() and not header_seen):
                continue  # a blank line DuckDB skips too
            if not header_seen:
                header_seen = True
                continue
            starts.append(start)
    return starts


def _problems_of(s: _Staged) -> list[Problem]:
    out: list[Problem] = []
    starts = (
        _csv_line_starts(s.path, s.delim)
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

    for line, reason in s.lines:
        out.append(Problem(s.path.name, line, None, reason))
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
