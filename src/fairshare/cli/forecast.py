"""`fairshare forecast`: this period's bookings (P10/P50/P90) per rep and in total vs what reps commit."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer

from fairshare.cli.app import FormatOption, WorkspaceOption, app
from fairshare.cli.data import open_workspace
from fairshare.cli.output import Format, fail, render


class ForecastPeriod(StrEnum):
    quarter = "quarter"
    month = "month"
    year = "year"


class ForecastBy(StrEnum):
    rep = "rep"
    total = "total"


@app.command("forecast")
def forecast_command(
    period: Annotated[
        ForecastPeriod, typer.Option("--period", help="quarter, month or year containing --as-of")
    ] = ForecastPeriod.quarter,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", help="forecast with the data known at this time (default: the latest event)"),
    ] = None,
    by: Annotated[ForecastBy, typer.Option("--by", help="one row per rep plus the total, or the total")] = (
        ForecastBy.rep
    ),
    level: Annotated[
        float,
        typer.Option(
            "--level", min=0.5, max=0.99, help="level of ci_low/ci_high (p10/p50/p90 are always shown)"
        ),
    ] = 0.9,
    draws: Annotated[int, typer.Option("--draws", min=100, help="Monte Carlo draws")] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="random seed (same seed, same figures)")] = 0,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,
) -> None:
    """What will we book this period (P10/P50/P90 from open pipeline and run-rate) vs the reps' commits."""
    from fairshare.errors import AreaMissing
    from fairshare.forecast import PipelineForecast

    ws = open_workspace(workspace, read_only=True)
    try:
        model = PipelineForecast(level=level, n_draws=draws, rng=seed, period=period.value).fit(
            ws, as_of=as_of
        )
    except (ValueError, AreaMissing) as e:
        fail(str(e.args[0]) if isinstance(e, AreaMissing) and e.args else str(e))
    finally:
        ws.close()
    table = model.result_
    if by is ForecastBy.total:
        table = table[table["rep_id"] == "all"].reset_index(drop=True)
    title = f"forecast {model.period_} as of {model.as_of_:%Y-%m-%d %H:%M}"
    if fmt is Format.table:
        table = table[["rep_id", "booked_to_date", "open_pipeline", "p10", "p50", "p90", "commit", "commit_gap",
                       "commit_percentile"]]  # fmt: skip
    render(table, fmt, title=title)
