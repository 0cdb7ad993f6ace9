"""`fairshare forecast [backtest]`: a period's bookings (P10/P50/P90) vs what reps commit, the same
forecast on every past period, and spend → bookings what-ifs (`--spend`, `--spend-file`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from fairshare.cli.app import FormatOption, WorkspaceOption, app
from fairshare.cli.data import open_workspace
from fairshare.cli.output import Format, fail, render

forecast_app = typer.Typer(
    help="What will we book (P10/P50/P90) vs the reps' commits; `backtest` scores it on past periods."
)
app.add_typer(forecast_app, name="forecast")


class ForecastPeriod(StrEnum):
    quarter = "quarter"
    month = "month"
    year = "year"


class ForecastBy(StrEnum):
    rep = "rep"
    total = "total"


class ForecastModel(StrEnum):
    deals = "deals"
    pipeline = "pipeline"


PeriodOption = Annotated[
    ForecastPeriod,
    typer.Option("--period", help="quarter, month or year (the one open at --as-of, or the next when it is "
                 "nearly over: [forecast] min_remaining_days)"),
]  # fmt: skip
ModelOption = Annotated[
    ForecastModel,
    typer.Option(
        "--model", help="deals (per-deal win model, calibrated on the backtest) or pipeline (stage curves)"
    ),
]
SeedOption = Annotated[int, typer.Option("--seed", help="random seed (same seed, same figures)")]


@forecast_app.callback(invoke_without_command=True)
def forecast_command(
    ctx: typer.Context,
    period: PeriodOption = ForecastPeriod.quarter,
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
    draws: Annotated[int, typer.Option("--draws", min=100, help="Monte Carlo draws")] = 4000,
    seed: SeedOption = 0,
    model: ModelOption = ForecastModel.deals,
    calibrate: Annotated[
        bool, typer.Option("--calibrate/--no-calibrate", help="stretch the interval by the backtest (slower)")
    ] = True,
    spend: Annotated[
        list[str] | None,
        typer.Option(
            "--spend", help="what-if: change a channel's budget, e.g. paid_search=+20% (repeatable)"
        ),
    ] = None,
    spend_file: Annotated[
        Path | None,
        typer.Option(
            "--spend-file", help="what-if: CSV of period,channel,amount (the new budget per period)"
        ),
    ] = None,
    periods_ahead: Annotated[int, typer.Option("--periods", min=1, max=8, help="what-if: periods ahead")] = 2,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,
) -> None:
    """What will we book this period (P10/P50/P90) vs the reps' commits; with --spend, under a new budget."""
    if ctx.invoked_subcommand is not None:
        return
    from fairshare.errors import AreaMissing
    from fairshare.forecast import PipelineForecast, forecast

    ws = open_workspace(workspace, read_only=True)
    try:
        if spend or spend_file:
            from fairshare.forecast.whatif import budget_changes, spend_whatif

            changes = budget_changes(spend or [], spend_file)
            table = spend_whatif(ws, changes, as_of=as_of, period=period.value, periods=periods_ahead,
                                 n_draws=draws, random_state=seed)  # fmt: skip
            render(table, fmt, title="bookings under the changed budget vs today's budget")
            return
        if model is ForecastModel.pipeline:
            fitted = PipelineForecast(level=level, n_draws=draws, random_state=seed, period=period.value).fit(
                ws, as_of=as_of
            )
        else:
            fitted, _ = forecast(ws, as_of=as_of, period=period.value, n_draws=draws, level=level,
                                 random_state=seed, calibrate=calibrate)  # fmt: skip
    except (ValueError, AreaMissing) as e:
        fail(str(e.args[0]) if isinstance(e, AreaMissing) and e.args else str(e))
    finally:
        ws.close()
    table = fitted.result_
    if by is ForecastBy.total:
        table = table[table["rep_id"] == "all"].reset_index(drop=True)
    title = f"forecast {fitted.period_} as of {fitted.as_of_:%Y-%m-%d %H:%M}"
    if fmt is Format.table:
        table = table[["rep_id", "booked_to_date", "open_pipeline", "p10", "p50", "p90", "commit", "commit_gap",
                       "commit_percentile"]]  # fmt: skip
    render(table, fmt, title=title)


@forecast_app.command("backtest")
def backtest_command(
    period: PeriodOption = ForecastPeriod.quarter,
    offsets: Annotated[
        str | None,
        typer.Option(
            "--offsets", help="days into each period, comma-separated (default [forecast] backtest_offsets)"
        ),
    ] = None,
    model: ModelOption = ForecastModel.deals,
    draws: Annotated[int, typer.Option("--draws", min=100, help="Monte Carlo draws per forecast")] = 2000,
    seed: SeedOption = 0,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Every past period forecast as it would have been made N days in (only data known then) against what
    was booked and the reps' latest commit: coverage of P10-P90, % error of P50 and commit, CRPS, pinball."""
    from fairshare.forecast import Backtest

    try:
        days = [int(x) for x in offsets.split(",")] if offsets else None
    except ValueError:
        fail(f"--offsets takes whole days separated by commas, e.g. 10,30,45 (got {offsets!r})")
    ws = open_workspace(workspace, read_only=True)
    try:
        bt = Backtest(
            model=model.value, period=period.value, offsets=days, n_draws=draws, random_state=seed
        ).fit(ws)
    except ValueError as e:
        fail(str(e))
    finally:
        ws.close()
    if fmt is Format.table:
        cols = [
            "period",
            "as_of",
            "actual",
            "p10",
            "p50",
            "p90",
            "commit",
            "covered",
            "p50_error",
            "commit_error",
        ]
        render(bt.result_[cols], fmt, title=f"backtest of the {model.value} forecast")
        render(bt.summary_, fmt, title="by period and overall (coverage of P10-P90: nominal 80%)")
        return
    render(bt.result_, fmt, title="backtest")
