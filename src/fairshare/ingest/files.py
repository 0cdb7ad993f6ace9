"""Canonical files on disk: which files are tables, their encoding, delimiter and header, and CSV line numbers.

Python reads only the top of a CSV file (the dialect) and, when there are problems to report,
walks it to turn data rows into editor line numbers; DuckDB reads the data.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from fairshare import schema
from fairshare.ingest.problems import Problem

#: Problems listed per file before the rest are only counted.
MAX_PROBLEMS_PER_FILE = 50

_UTF8_HINT = "re-export the file as UTF-8 (CSV UTF-8)"
#: Longest CSV line (one record) DuckDB will read; long notes fields are fine.
_MAX_LINE_BYTES = 256 * 1024 * 1024
_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet")


def normalize_header(name: str) -> str:
    """`" Account ID "` → `"account_id"`: case, spaces and dashes do not matter in headers.

    Double quotes are dropped so that every name is a safe SQL identifier.
    """
    name = name.replace("\ufeff", "").replace('"', "").strip().lower()
    return re.sub(r"[\s\-]+", "_", name)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


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
    """Encoding, delimiter and header of a CSV file, from its top (64 KB, or as far as the header goes)."""
    d = _Dialect()
    with _open_bytes(path) as fh:
        head = fh.read(1 << 16)
        while not re.search(rb"[\r\n]", head.lstrip(b" \t\r\n\xef\xbb\xbf")):  # a header past 64 KB
            more = fh.read(1 << 20)
            if not more:
                break
            head += more
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_bom(head):
        d.problem = (None, f"file is UTF-16 (Excel 'Unicode text'), not UTF-8; {_UTF8_HINT}")
        return d
    head = head.removeprefix(b"\xef\xbb\xbf")
    blank = re.match(rb"(?:[ \t]*(?:\r\n|\r|\n))*", head).group(0)
    d.skip = _newlines(blank)
    first = re.split(rb"\r\n|\r|\n", head[len(blank) :], maxsplit=1)[0]
    if b"\x00" in first:
        d.problem = (d.skip + 1, "the header holds a NUL byte (\\0); the file may be damaged: re-export it")
        return d
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


def _utf16_without_bom(head: bytes) -> bool:
    """Every other byte NUL: UTF-16 text (little or big endian) saved without its byte-order mark."""
    top = head[:4096]
    return len(top) > 16 and max(top[0::2].count(0), top[1::2].count(0)) > 0.9 * (len(top) // 2)


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


def csv_relation(path: Path, dialect: _Dialect) -> str:
    """DuckDB `read_csv(...)` of `path` with the dialect Python found; columns are named c0, c1, ..."""
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(dialect.header))) + "}"
    return (
        f"read_csv({_lit(str(path))}, auto_detect=false, header=true, skip={dialect.skip}, "
        f"delim={_lit(dialect.delim)}, quote='\"', escape='\"', columns={columns}, strict_mode=true, "
        f"null_padding=false, max_line_size={_MAX_LINE_BYTES}, encoding='utf-8')"
    )


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
