"""Commands that set up a workspace and get data in: init, import, validate, status."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fairshare.cli.app import (
    FormatOption,
    WorkspaceOption,
    app,
    checked_folder,
    default_workspace,
    open_workspace,
    warehouse_mistake,
    workspace_errors,
)
from fairshare.cli.output import Format, console, err_console, fail, render

if TYPE_CHECKING:
    from fairshare.ingest import ImportReport


def _report_problems(report: ImportReport, verb: str) -> None:
    n = len(report.problems) + sum(report.truncated.values())
    for line in report.summary().splitlines():
        err_console.print(line, highlight=False, markup=False, soft_wrap=True)
    fail(
        f"{n} problem(s) found in {report.folder}; {verb}",
        hint="fix the lines above (file:line: column: why) and run the command again",
    )


def _stages(title: str):
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn(f"[bold]{title}[/] {{task.description}}"), BarColumn(),
                    TimeElapsedColumn(), console=err_console.rich, transient=True)  # fmt: skip


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Workspace folder to create")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing fairshare.toml")] = False,
    warehouse: Annotated[
        str | None,
        typer.Option(
            "--warehouse",
            help="Warehouse URL: postgres://user@host/db, pyspark:///folder (default: DuckDB file)",
        ),
    ] = None,
) -> None:
    """Create a workspace with a commented default fairshare.toml."""
    from fairshare.config import CONFIG_NAME
    from fairshare.workspace import Workspace

    existed = (directory / CONFIG_NAME).exists()
    Workspace.init(directory, overwrite=force, warehouse=warehouse)
    what = "kept existing" if existed and not force else "wrote"
    console.print(f"{what} {directory / CONFIG_NAME}; next: fairshare import DIR --workspace {directory}")


@app.command("import")
def import_(
    directory: Annotated[Path, typer.Argument(help="Folder of canonical CSV/Parquet files")],
    workspace: WorkspaceOption = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            "--mapping", "-m", help="The folder holds CRM exports: salesforce, hubspot or a mapping .toml"
        ),
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Validate a folder of canonical files and import it in one transaction (all or nothing)."""
    from fairshare.ingest import ImportFailed
    from fairshare.ingest.mappings import MappingError
    from fairshare.warehouse import WarehouseError

    ws = open_workspace(workspace, create=True)
    try:
        with _stages("import") as bar:
            task = bar.add_task("starting", total=None)
            report = ws.import_(
                directory, progress=lambda stage: bar.update(task, description=stage), mapping=mapping
            )
    except MappingError as e:
        fail(str(e), hint="see docs/import.md for the mapping format")
    except ImportFailed as e:
        _report_problems(e.report, "nothing was imported, the warehouse is unchanged")
    except WarehouseError as e:
        fail(str(e))
    finally:
        ws.close()
    for w in report.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    render({"imported": str(directory), **{f"rows.{k}": v for k, v in report.rows.items()}}, fmt)


@app.command()
def validate(
    directory: Annotated[Path, typer.Argument(help="Folder of canonical CSV/Parquet files")],
    workspace: WorkspaceOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Run every import check on a folder without writing anything (references may resolve in the workspace)."""
    from fairshare.config import CONFIG_NAME
    from fairshare.ingest import validate_folder
    from fairshare.warehouse import WarehouseBusy

    use_ws = workspace is not None or (default_workspace() / CONFIG_NAME).exists()
    ws = open_workspace(workspace, read_only=True) if use_ws else None
    try:
        with _stages("validate") as bar:
            task = bar.add_task("starting", total=None)
            report = validate_folder(directory, ws.con if ws else None,
                                     progress=lambda s: bar.update(task, description=s))  # fmt: skip
    except WarehouseBusy as e:
        fail(str(e))
    finally:
        if ws:
            ws.close()
    if not report.ok:
        _report_problems(report, "fix them before importing")
    for w in report.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    render({"valid": True, "folder": str(directory), **{f"rows.{k}": v for k, v in report.rows.items()}}, fmt)


@app.command()
def status(workspace: WorkspaceOption = None, fmt: FormatOption = Format.table) -> None:
    """Tables and row counts, the last import and run, and the warehouse URL."""
    # read with plain DuckDB, not the Workspace (Ibis, pandas): status starts in well under a second
    from fairshare.config import CONFIG_NAME, load_definitions
    from fairshare.status import workspace_status
    from fairshare.warehouse import NoWarehouse

    path = checked_folder(workspace)
    with workspace_errors():
        definitions = load_definitions(path / CONFIG_NAME)  # parsed once: the URL check and the status
        mistake = warehouse_mistake(definitions.workspace.warehouse)
        if mistake:
            fail(mistake)
        try:
            info = workspace_status(path, definitions)
        except NoWarehouse as e:
            raise NoWarehouse(f"{e} --workspace {path}") from None
    if fmt is Format.table:
        render({k: v for k, v in info.items() if k != "tables"}, fmt, title="workspace")
        render(info["tables"], fmt, title="rows per table")
    else:
        render(info, fmt)
