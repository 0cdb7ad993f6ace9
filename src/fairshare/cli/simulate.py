"""`fairshare simulate`: write a simulated company (canonical files + truth/) to a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fairshare.cli.app import app
from fairshare.cli.output import Format, fail, render


@app.command()
def simulate(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write <table>.csv|parquet and truth/ into.")
    ],
    accounts: Annotated[int, typer.Option(help="Number of accounts.")] = 3000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed → byte-identical files).")] = 0,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario",
            help="Replay to compute truth against (repeatable): marketing_off, channel_off:<channel>, sdr_off, "
            "sdr_outbound_off, ae_off, capacity:<factor>, experiment_none, experiment_all. Default: all standard "
            "replays.",
        ),
    ] = None,
    world_scenario: Annotated[
        str, typer.Option("--world", help="Scenario whose tables are written (default: factual).")
    ] = "factual",
    grid: Annotated[
        str | None,
        typer.Option(
            "--grid",
            help="A named company of the simulator grid, e.g. arrive40-confounded "
            "(docs/simulator.md lists them); --set overrides on top.",
        ),
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Set a simulator parameter (repeatable): key=value, JSON values, dotted keys "
            "for nested ones, e.g. --set organic_arrival_share=0.6 --set budget_flights.enabled=true.",
        ),
    ] = None,
    file_format: Annotated[
        str, typer.Option("--format", help="File format to write: csv or parquet.")
    ] = "csv",
    show: Annotated[
        Format, typer.Option("--show", help="How to print the summary: table, json or csv.")
    ] = Format.table,
) -> None:
    """Simulate a B2B company with known truth and write it in the canonical import format."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from fairshare.simulate import default_replays, simulate_with_truth
    from fairshare.simulate import simulate as run_one
    from fairshare.simulate.grid import configure
    from fairshare.simulate.scenarios import Scenario

    if file_format not in ("csv", "parquet"):
        fail(f"unknown file format {file_format!r}", hint="use --format csv or --format parquet")
    try:
        cfg = configure(grid, accounts, settings or [])
        replays = list(scenario) if scenario else list(default_replays(cfg))
        for name in [*replays, world_scenario]:
            Scenario.parse(name, cfg.all_channels)
    except ValueError as e:
        fail(str(e).splitlines()[0] if "validation error" not in str(e) else str(e),
             hint="see `fairshare simulate --help` and docs/simulator.md for scenarios, parameters and grid names")  # fmt: skip
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), transient=True) as bar:  # fmt: skip
        task = bar.add_task("simulating", total=len(replays) + 2)

        def step(name: str) -> None:
            bar.update(task, advance=1, description=f"simulating {name}")

        world = simulate_with_truth(cfg, seed, scenarios=replays, progress=step)
        if world_scenario != "factual":
            replay = run_one(cfg, seed, world_scenario)
            replay.truth.update({k: world.truth[k] for k in ("scenarios", "incremental")})
            world = replay
        bar.update(task, description="writing files")
        world.write(out, format=file_format)  # type: ignore[arg-type]
        bar.update(task, advance=1)
    factual = world.truth["scenarios"].iloc[0]
    summary = {
        "out": str(out), "accounts": accounts, "seed": seed, "world": world_scenario, "grid": grid or "",
        **{f"rows_{k}": len(v) for k, v in world.tables.items()},
        "won_revenue": float(factual["won_revenue"]), "never_contacted_share": float(factual["never_contacted_share"]),
    }  # fmt: skip
    render(summary, show, title="simulated company")
    if show is Format.table:
        render(world.truth["incremental"][["unit", "incremental_revenue", "incremental_expected_revenue"]], show,
               title="true incremental revenue (factual − replay, same seed)")  # fmt: skip
