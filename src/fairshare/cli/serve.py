"""Commands that run the models and publish results: run, report, serve, demo."""

from __future__ import annotations

import ipaddress
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fairshare.cli.app import FormatOption, WorkspaceOption, app, default_workspace, open_workspace
from fairshare.cli.output import Format, console, err_console, fail, library_warnings, render
from fairshare.demo import DEMO_MARKER, DEMO_SCENARIOS  # noqa: F401 (the demo command's names)

if TYPE_CHECKING:
    from rich.progress import Progress


def _bar(title: str) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(SpinnerColumn(), TextColumn(f"[bold]{title}[/] {{task.description}}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), console=err_console.rich, transient=True)  # fmt: skip


def _run_with_progress(ws: Any, truth_dir: Path | None, title: str = "run") -> dict[str, Any]:
    with _bar(title) as bar:
        task = bar.add_task("starting", total=1)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        return ws.run(progress=progress, truth_dir=truth_dir)


def _warn_log(log: list[dict[str, Any]]) -> int:
    """Print missing/failed areas; return how many failed."""
    failed = 0
    for row in log:
        if row["status"] == "missing":
            err_console.print(f"[yellow]warning:[/] {row['area']}: {row['message']}", highlight=False)
        elif row["status"] == "failed":
            failed += 1
            err_console.print(f"[bold red]failed:[/] {row['area']}: {row['message']}", highlight=False)
    return failed


@app.command("run")
def run_command(
    workspace: WorkspaceOption = None,
    truth: Annotated[
        Path | None,
        typer.Option("--truth", help="A simulator's truth/ folder: also check estimates against it"),
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Fit every model on the workspace and store the results (report, API and dashboard read them)."""
    from fairshare.warehouse import WarehouseBusy

    if truth is not None and not truth.is_dir():
        fail(f"truth folder {truth} does not exist", hint="pass the truth/ folder written by the simulator")
    ws = open_workspace(workspace)
    try:
        with library_warnings():
            manifest = _run_with_progress(ws, truth)
    except WarehouseBusy as e:
        fail(str(e))
    finally:
        ws.close()
    import pandas as pd

    render(
        pd.DataFrame(manifest["log"]), fmt, title=f"run {manifest['run_id']} ({manifest['seconds']:.1f} s)"
    )
    if _warn_log(manifest["log"]):
        fail("some model areas failed; the others' results were stored",
             hint="see the messages above; `fairshare report` shows what is missing")  # fmt: skip


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write")] = Path("report.html"),
    workspace: WorkspaceOption = None,
) -> None:
    """Write one self-contained HTML report of the last run (opens offline; nothing from a CDN)."""
    from fairshare.api.snapshot import NoResults
    from fairshare.web.report import write_report

    open_workspace(workspace, connect=False)  # a missing workspace is one line, not "no results"
    try:
        path = write_report(workspace or default_workspace(), out)
    except NoResults as e:
        fail(str(e))
    console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", soft_wrap=True, highlight=False)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; keep 127.0.0.1 unless behind a proxy")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workspace: WorkspaceOption = None,
) -> None:
    """Serve the REST API (/api, docs at /docs) and the dashboard over the last run's results."""
    import secrets

    import uvicorn

    from fairshare.api import create_app
    from fairshare.api.auth import TOKEN_ENV, configured_tokens

    path = workspace or default_workspace()
    ws = open_workspace(
        path, read_only=True, connect=False
    )  # the server reads results only, never the warehouse
    try:
        tokens = configured_tokens(ws.definitions.api.tokens)
    except ValueError as e:
        fail(str(e))
    if not tokens:
        from rich.markup import escape

        token = secrets.token_urlsafe(24)
        tokens = [token]
        err_console.print(f"no API token configured ({escape('[api]')} tokens or {TOKEN_ENV}); "
                          f"using a one-off token for this server: [bold]{token}[/]", highlight=False, soft_wrap=True)  # fmt: skip
    if not _is_loopback(host):
        err_console.print(f"[yellow]warning:[/] binding {host}: the server is reachable from other machines; "
                          "serve it behind TLS", highlight=False, soft_wrap=True)  # fmt: skip
    if ws.results_manifest() is None:
        err_console.print(
            "[yellow]warning:[/] no results yet; run `fairshare run` (the server picks them up)"
        )
    err_console.print(
        f"dashboard http://{host}:{port}/  ·  API docs http://{host}:{port}/docs", highlight=False
    )
    uvicorn.run(create_app(path, tokens=tokens), host=host, port=port, log_level="warning")


@app.command()
def demo(
    accounts: Annotated[
        int, typer.Option("--accounts", "-n", min=20, help="Accounts in the simulated company")
    ] = 3000,
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Folder to create")] = Path(
        "demo-workspace"
    ),
    seed: Annotated[int, typer.Option(help="Simulation seed")] = 0,
) -> None:
    """Simulate a company, import it, run every model, write the report, print how to serve it."""
    from fairshare.workspace import Workspace

    if workspace.exists() and any(workspace.iterdir()):
        if not (workspace / DEMO_MARKER).exists():
            fail(f"{workspace} exists and is not a demo workspace", hint="pass --workspace NEW_FOLDER")
        shutil.rmtree(workspace)

    started = time.perf_counter()
    with _bar("demo") as bar:
        task = bar.add_task("simulating a company", total=4)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        with library_warnings():
            made = Workspace.demo(workspace, accounts=accounts, seed=seed, progress=progress)
    manifest, out = made.manifest, made.report
    failed = _warn_log(manifest["log"])
    seconds = time.perf_counter() - started
    console.print(f"demo company: {accounts:,} accounts, run {manifest['run_id']} in {seconds:.1f} s")
    console.print(f"report: {out.resolve()}", soft_wrap=True, highlight=False)
    console.print(f"serve:  fairshare serve --workspace {workspace}", soft_wrap=True, highlight=False)
    if failed:
        fail(f"{failed} model area(s) failed; the report shows the others")
