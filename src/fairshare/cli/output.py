"""Rendering results for people (Rich tables) and scripts (JSON, CSV); user errors without tracebacks."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Any, NoReturn

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from fairshare.records import json_safe, records

console = Console()
err_console = Console(stderr=True)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _cell(value: Any) -> str:
    value = json_safe(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def render(
    result: pd.DataFrame | dict[str, Any], fmt: Format | str = Format.table, title: str | None = None
) -> None:
    """Print a result table or a single record in the requested format (json/csv go to stdout only)."""
    fmt = Format(fmt)
    if isinstance(result, pd.DataFrame):
        if fmt is Format.json:
            sys.stdout.write(json.dumps(records(result), indent=2, default=str) + "\n")
        elif fmt is Format.csv:
            result.to_csv(sys.stdout, index=False)
        else:
            table = RichTable(title=title, show_lines=False)
            for col in result.columns:
                table.add_column(
                    str(col), justify="right" if pd.api.types.is_numeric_dtype(result[col]) else "left"
                )
            for row in result.itertuples(index=False):
                table.add_row(*(_cell(v) for v in row))
            console.print(table)
    else:
        plain = {k: json_safe(v) if not isinstance(v, (dict, list)) else v for k, v in result.items()}
        if fmt is Format.json:
            sys.stdout.write(json.dumps(plain, indent=2, default=str) + "\n")
        elif fmt is Format.csv:
            pd.DataFrame([{k: v for k, v in plain.items() if not isinstance(v, (dict, list))}]).to_csv(
                sys.stdout, index=False
            )
        else:
            table = RichTable(title=title, show_header=False)
            table.add_column("key", style="bold")
            table.add_column("value")
            for k, v in plain.items():
                table.add_row(str(k), json.dumps(v, default=str) if isinstance(v, (dict, list)) else _cell(v))
            console.print(table)


def fail(message: str, hint: str | None = None, code: int = 1) -> NoReturn:
    """Print a user error (and what to do next) to stderr and exit non-zero, without a traceback."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if hint:
        err_console.print(f"[yellow]hint:[/] {escape(hint)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
