"""Rendering results for people (Rich tables) and scripts (JSON, CSV); user errors without tracebacks.

Tables fit the terminal: full numbers when the table fits, short units (1.2M, 35.4k) and wrapped
text when it does not, and one key/value block per row when even that is too wide. pandas and
Rich's table machinery are imported on first render, so importing the CLI stays fast.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import warnings
from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from fairshare.records import json_safe as _plain
from fairshare.records import records

if TYPE_CHECKING:
    import pandas as pd


class _Console:
    """A Rich console made on first use: importing rich.console costs every start-up (`--help` too)."""

    def __init__(self, stderr: bool = False):
        self._stderr = stderr
        self._real: Any = None

    @property
    def rich(self) -> Any:
        """The Rich console itself (for Progress and Live, which need the real object)."""
        if self._real is None:
            from rich.console import Console

            self._real = Console(stderr=self._stderr)
        return self._real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rich, name)


console: Any = _Console()
err_console: Any = _Console(stderr=True)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


_UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def short_number(value: float) -> str:
    """A number in at most ~6 characters: 1.2M, 35.4k, 0.123, -2.5k (for narrow terminals)."""
    magnitude = abs(value)
    for size, unit in _UNITS:
        if magnitude >= size * 0.9995:  # 999,950 is 1.0M, not 1,000.0k
            scaled = value / size
            return f"{scaled:.1f}{unit}" if abs(scaled) < 100 else f"{scaled:.0f}{unit}"
    if value == int(value):
        return str(int(value))
    return f"{value:.3g}"


def _short_cell(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _cell(value)
    return short_number(float(value))


def _table(frame: pd.DataFrame, title: str | None, cell) -> Any:
    import pandas as pd
    from rich import box
    from rich.table import Table

    # no vertical rules and one space between columns: as many columns as fit in a narrow terminal
    table = Table(title=title, show_lines=False, box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
    rows = [[cell(v) for v in row] for row in frame.itertuples(index=False)]
    for i, col in enumerate(frame.columns):
        numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col])
        # never narrower than the column's longest word: text wraps at spaces, names and numbers stay whole
        header = str(col).replace("_", " ")  # may wrap between words; JSON and CSV keep the names
        words = [len(w) for r in rows for w in r[i].split()] + [len(w) for w in header.split()]
        table.add_column(header, justify="right" if numeric else "left", overflow="fold",
                         min_width=min(max(words, default=1), 40))  # fmt: skip
    for r in rows:
        table.add_row(*r)
    return table


def _vertical(frame: pd.DataFrame, title: str | None) -> None:
    """One key/value block per row: what a table too wide for the terminal becomes."""
    from rich.markup import escape
    from rich.table import Table

    if title:
        console.print(f"[bold]{escape(title)}[/]", highlight=False, soft_wrap=True)
    for i, row in enumerate(frame.to_dict(orient="records"), 1):
        block = Table(show_header=False, box=None, padding=(0, 1), title=f"── {i} of {len(frame)} ──",
                      title_justify="left")  # fmt: skip
        block.add_column("key", style="bold", no_wrap=True)
        block.add_column("value", overflow="fold")
        for k, v in row.items():
            text = _short_cell(v)
            if text:
                block.add_row(str(k), text)
        console.print(block)


def _print_table(frame: pd.DataFrame, title: str | None) -> None:
    """Full numbers if the table fits the terminal, short units and wrapped text if that fits, else rows
    as key/value blocks."""
    width = console.width
    full = _table(frame, title, _cell)
    if _natural(full)[1] <= width:
        console.print(full)
        return
    compact = _table(frame, title, _short_cell)
    if _natural(compact)[0] <= width:
        console.print(compact)
        return
    _vertical(frame, title)


def _natural(table: Any) -> tuple[int, int]:
    """The table's (narrowest, natural) width in characters, not clamped to the terminal's: the
    narrowest breaks text at spaces but never cuts a word or a number."""
    from rich.measure import Measurement

    unbounded = console.options.update_width(1_000_000)
    measured = Measurement.get(console.rich, unbounded, table)
    return measured.minimum, measured.maximum


def render(
    result: pd.DataFrame | dict[str, Any],
    fmt: Format | str = Format.table,
    title: str | None = None,
    limit: int | None = None,
    more: str = "--all",
) -> None:
    """Print a result table or a single record in the requested format (json/csv go to stdout only).

    With `limit`, a table printed for people shows that many rows and says how to get all of them
    (`more` names the option); JSON and CSV always carry every row.
    """
    fmt = Format(fmt)
    if not isinstance(result, dict):
        if fmt is Format.json:
            sys.stdout.write(json.dumps(records(result), indent=2, default=str) + "\n")
        elif fmt is Format.csv:
            result.to_csv(sys.stdout, index=False)
        else:
            shown = result if limit is None or len(result) <= limit else result.head(limit)
            _print_table(shown, title)
            if len(shown) < len(result):
                err_console.print(
                    f"showing {len(shown):,} of {len(result):,} rows; {more} for every row (or --format csv)",
                    highlight=False,
                    soft_wrap=True,
                )
        return
    plain = {k: _plain(v) if not isinstance(v, (dict, list)) else v for k, v in result.items()}
    if fmt is Format.json:
        sys.stdout.write(json.dumps(plain, indent=2, default=str) + "\n")
    elif fmt is Format.csv:
        import csv

        flat = {k: v for k, v in plain.items() if not isinstance(v, (dict, list))}
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(flat)
        writer.writerow(["" if v is None else v for v in flat.values()])
    else:
        from rich.table import Table

        table = Table(title=title, show_header=False)
        table.add_column("key", style="bold")
        table.add_column("value", overflow="fold")
        for k, v in plain.items():
            table.add_row(str(k), json.dumps(v, default=str) if isinstance(v, (dict, list)) else _cell(v))
        console.print(table)


def fail(message: str, hint: str | None = None, code: int = 1) -> NoReturn:
    """Print a user error (and what to do next) to stderr and exit non-zero, without a traceback."""
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if hint:
        err_console.print(f"[yellow]hint:[/] {escape(hint)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


#: scikit-learn's imputer names the all-missing features it drops: "Skipping features without any
#: observed values: ['a' 'b']. ..."
_NO_VALUES = re.compile(r"Skipping features without any observed values: \[(?P<names>[^\]]*)\]")


def warning_summary(caught: list[warnings.WarningMessage]) -> list[str]:
    """Library warnings as a few lines, each said once: features with no values are named together,
    other messages are counted (deprecations, which concern fairshare's code, not the data, are dropped)."""
    no_values: dict[str, None] = {}
    counts: dict[str, int] = {}
    for w in caught:
        if issubclass(w.category, DeprecationWarning | PendingDeprecationWarning):
            continue
        text = str(w.message).strip()
        if match := _NO_VALUES.search(text):
            no_values.update(
                dict.fromkeys(n.strip("'\" ") for n in match["names"].split() if n.strip("'\" "))
            )
            continue
        first = text.splitlines()[0] if text else w.category.__name__
        key = f"{w.category.__name__}: {first[:160]}"
        counts[key] = counts.get(key, 0) + 1
    lines = []
    if no_values:
        lines.append(f"{len(no_values)} feature(s) had no values and were ignored: {', '.join(no_values)}")
    lines += [f"{key}" + (f" (×{n})" if n > 1 else "") for key, n in counts.items()]
    return lines


@contextlib.contextmanager
def library_warnings() -> Iterator[None]:
    """Collect the warnings that model libraries raise inside the block and print them once, grouped,
    after it, instead of dozens of tracebacks-like lines in the middle of the output."""
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        for line in warning_summary(caught):
            err_console.print(f"[yellow]note:[/] {_escape(line)}", highlight=False, soft_wrap=True)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
