"""Value checks on a staged file, as SQL: types, required values, allowed values, duplicate keys, references.

Every check is one query per column over the staged all-text table; the typed table is built
from the same cleaned values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from fairshare import schema
from fairshare.ingest.files import MAX_PROBLEMS_PER_FILE, _lit, _q

_TRUE = ("true", "t", "1", "yes", "y")
_FALSE = ("false", "f", "0", "no", "n")
#: Written by databases and spreadsheets for "no value"; read as missing in number, time and
#: true/false columns (text columns keep them: region "NA" is North America).
_NULL_MARKERS = ("null", "none", "n/a", "na", "#n/a", "nan")
_NUMBER_HINT = (
    "write plain numbers with '.' for decimals, no thousands separators or currency symbols (e.g. 1234.5)"
)
_TIME_EXAMPLE = "e.g. 2026-03-01 or 2026-03-01T09:30:00Z"
_INT_LIMIT = 9.2e18
#: Larger numbers are unit mistakes, and summing them overflows (an amount of 1e308).
_FLOAT_LIMIT = 1e15
#: The UTC offset at the end of a time: group 3 is its hours, group 4 its minutes.
_OFFSET = r"[T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?[ ]*[+-]([0-9]{1,2}):?([0-9]{2})?$"


def _singular(table: str) -> str:
    """`opportunities` → `opportunity`, `reps` → `rep` (for messages)."""
    if table.endswith("ies"):
        return table[:-3] + "y"
    if table.endswith(("ches", "shes", "sses", "xes")):
        return table[:-2]
    return table[:-1] if table.endswith("s") else table


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
    years: tuple[int, int] = (1970, 2100)  # plausible years of times ([ingest] in fairshare.toml)

    @property
    def is_parquet(self) -> bool:
        return self.path.suffix.lower() == ".parquet"

    def add(self, row: int | None, column: str | None, reason: str) -> None:
        if len(self.problems) < MAX_PROBLEMS_PER_FILE:
            self.problems.append((row, column, reason))
        else:
            self.more += 1


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
            if col.dtype == "float":
                parts.append(
                    f"SELECT __row, {_lit(col.name)}, 'number too large: ' || {show} || "
                    f"' (above {_FLOAT_LIMIT:.0e}; check the unit)' FROM {_q(s.stage)} "
                    f"WHERE {present} AND NOT isinf({num}) AND abs({num}) >= {_FLOAT_LIMIT}"
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
            first, last = s.years
            parts.append(
                f"SELECT __row, {_lit(col.name)}, 'implausible year ' || year({ts}) || ' in ' || {show} || "
                f"{_lit(f' (plausible: {first} to {last}; [ingest] earliest_year/latest_year in fairshare.toml)')} "
                f"FROM {_q(s.stage)} WHERE {present} AND coalesce(isfinite({ts}), false) "
                f"AND year({ts}) NOT BETWEEN {int(first)} AND {int(last)}"
            )
            hours, minutes = (f"TRY_CAST(nullif(regexp_extract({v}, {_lit(_OFFSET)}, {g}), '') AS INTEGER)" for g in (3, 4))  # fmt: skip
            parts.append(
                f"SELECT __row, {_lit(col.name)}, 'time zone offset out of range: ' || {show} || "
                f"' (offsets run from -14:00 to +14:00)' FROM {_q(s.stage)} "
                f"WHERE {present} AND ({hours} * 60 + coalesce({minutes}, 0) > 840 OR coalesce({minutes}, 0) > 59)"
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
    if s.columns:  # one pass over every column, extras too: a NUL byte is damage, never data
        cells = ", ".join(f"coalesce({_q(c)}, '')" for c in s.columns.values())
        parts.append(f"SELECT __row, NULL, 'holds a NUL byte (\\0), which no value may contain; "
                     f"the file may be damaged: re-export it' FROM {_q(s.stage)} "
                     f"WHERE contains(concat({cells}), chr(0))")  # fmt: skip
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
