"""Import a folder of canonical CSV/Parquet files: validate everything, then upsert in one transaction.

The happy path is set-based: DuckDB reads the files and every check is one SQL query per
column. Python only walks a CSV file to turn row numbers into editor line numbers, and only
when there are problems to report.
"""

from __future__ import annotations

import contextlib
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import ibis

from fairshare import load, schema, warehouse
from fairshare.ingest.checks import (
    _cell,
    _check_duplicates,
    _check_foreign_keys,
    _singular,
    _Staged,
    _typed_expr,
    _value_checks,
)
from fairshare.ingest.files import (
    MAX_PROBLEMS_PER_FILE,
    _csv_line_starts,
    _lit,
    _open_bytes,
    _q,
    csv_relation,
    diagnose_csv,
    find_files,
    normalize_header,
    sniff,
)
from fairshare.ingest.problems import ImportFailed, ImportReport, Problem

Progress = Callable[[str], None]
#: Plausible years of imported times when no definitions are given ([ingest] defaults).
YEARS = (1970, 2100)


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


def _stage_file(
    con: duckdb.DuckDBPyConnection, t: schema.Table, path: Path, years: tuple[int, int]
) -> _Staged:
    stage = f"__stage_{t.name}"
    s = _Staged(t, path, stage, {}, years=years)
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


@contextlib.contextmanager
def _without_common_subexpressions(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB's common-subexpression pass is quadratic in the columns of one SELECT (a staged file
    with 3,000 extra columns: 10 s of planning, 30,000: ~1,000 s); staging plans without it, which
    costs nothing measurable on long files (3M rows: the same CPU). The setting is restored after."""
    before = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0]
    con.execute(
        f"SET disabled_optimizers = {_lit(','.join(filter(None, [before, 'common_subexpressions'])))}"
    )
    try:
        yield
    finally:
        con.execute(f"SET disabled_optimizers = {_lit(before)}")


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
        with _without_common_subexpressions(con):
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
    """DuckDB connection to stage in: the warehouse's own (DuckDB) or a private in-memory one. For
    another warehouse the referenced key columns of its tables are copied in (schema `wh`), so
    references to rows imported earlier resolve as they do on DuckDB."""
    if con is not None and warehouse.is_duckdb(con):
        raw = con.con
        return raw, "", set(con.list_tables())
    raw = duckdb.connect()
    raw.execute("SET TimeZone='UTC'")
    if con is None:
        return raw, None, set()
    raw.execute("CREATE SCHEMA wh")
    have = set(con.list_tables())
    referenced: dict[str, set[str]] = {}
    for t in schema.TABLES.values():
        for c in t.columns:
            if c.references is not None and c.references[0] in have:
                referenced.setdefault(c.references[0], set()).add(c.references[1])
    for name, cols in referenced.items():
        keys = con.table(name).select(*sorted(cols)).distinct().to_pyarrow()  # noqa: F841 (read by DuckDB)
        raw.execute(f"CREATE TABLE wh.{_q(name)} AS SELECT * FROM keys")
    return raw, "wh.", set(referenced)


def validate_folder(folder: Path | str, con: ibis.BaseBackend | None = None,
                    progress: Progress | None = None, years: tuple[int, int] = YEARS) -> ImportReport:  # fmt: skip
    """Check a folder against the canonical format (and the warehouse `con`, if given) without writing.

    Times must fall within `years` (first, last), from [ingest] in the definitions.
    """
    report, staged, raw = _validate(Path(folder), con, progress, years)
    _drop_temps(raw, staged)
    return report


def _validate(folder: Path, con: ibis.BaseBackend | None, progress: Progress | None, years: tuple[int, int]):
    report = ImportReport(folder=str(folder))
    if not folder.is_dir():
        report.problems.append(
            Problem(str(folder), None, None, "not a folder; pass the folder holding the CSV/Parquet files")
        )
        return report, {}, None
    files, report.warnings, report.problems = find_files(folder)
    wanted = (set(schema.REQUIRED_TABLES) | set(schema.REQUIRED_ONE_OF_TABLES)) - set(files)
    present = set(files) | _filled_tables(con, wanted)
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
        staged[name] = _stage_file(raw, schema.TABLES[name], files[name], years)
    if progress:
        progress("checking references")
    _check_foreign_keys(raw, staged, existing, wh_prefix)
    for s in staged.values():
        report.rows[s.table.name] = s.rows
        report.problems.extend(_problems_of(s))
        if s.more:
            report.truncated[s.path.name] = s.more
    return report, staged, raw


def _filled_tables(con: ibis.BaseBackend | None, names: set[str]) -> set[str]:
    """Those of `names` holding rows in the warehouse: an empty table does not count as present."""
    if con is None or not names:
        return set()
    have = set(con.list_tables()) & names
    return {name for name in have if int(con.table(name).limit(1).count().execute())}


def _drop_temps(raw: duckdb.DuckDBPyConnection | None, staged: dict[str, _Staged]) -> None:
    if raw is None:
        return
    for s in staged.values():
        raw.execute(f"DROP TABLE IF EXISTS {_q(s.stage)}")
        if s.typed:
            raw.execute(f"DROP TABLE IF EXISTS {_q(s.typed)}")


def import_folder(
    con: ibis.BaseBackend,
    folder: Path | str,
    progress: Progress | None = None,
    years: tuple[int, int] = YEARS,
) -> ImportReport:
    """Validate `folder` (staged in DuckDB), then upsert every table all or nothing
    (`load.load_import`: one transaction, or one new version on Spark).

    Raises ImportFailed (nothing written) when any problem is found.
    """
    folder = Path(folder)
    warehouse.ensure_canonical_tables(con)
    report, staged, raw = _validate(folder, con, progress, years)
    try:
        if not report.ok:
            raise ImportFailed(report)
        if progress:
            progress("writing")
        loads = [
            load.Load(
                name, s.typed, tuple(s.table.key), tuple(s.table.column_names + s.extras), tuple(s.extras)
            )
            for name in schema.LOAD_ORDER
            if (s := staged.get(name)) is not None and s.typed is not None
        ]
        load.load_import(con, raw, loads, str(folder.resolve()), report.rows)
        report.written = True
        return report
    finally:
        _drop_temps(raw, staged)
