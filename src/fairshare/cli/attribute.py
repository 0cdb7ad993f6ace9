"""`fairshare attribute`: credit per channel / campaign / team under one model or all of them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fairshare.cli.app import FormatOption, WorkspaceOption, app, default_workspace
from fairshare.cli.output import Format, fail, render


@app.command()
def attribute(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="first_touch, last_touch, last_non_direct, linear, u_shaped, w_shaped, full_path, "
            "time_decay, markov, shapley, or all (side by side).",
        ),
    ] = "markov",
    order: Annotated[
        list[int] | None,
        typer.Option("--order", "-k", help="Markov order (repeatable: --order 1 --order 3)."),
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Touchpoints by channel, campaign or team.")] = "channel",
    stage: Annotated[
        str, typer.Option("--stage", help="revenue (journeys up to close, won = converted) or pipeline.")
    ] = "revenue",
    collapse: Annotated[
        bool, typer.Option("--collapse", help="Merge repeated consecutive touchpoints.")
    ] = False,
    no_sales: Annotated[
        bool, typer.Option("--no-sales", help="Leave SDR / AE activities out of the journeys.")
    ] = False,
    bootstrap: Annotated[
        int | None,
        typer.Option(
            "--bootstrap", "-b", help="Resamples for ci_low/ci_high (default: [attribution] bootstrap)."
        ),
    ] = None,
    level: Annotated[float, typer.Option("--level", help="Interval level.")] = 0.9,
    paths: Annotated[
        Path | None,
        typer.Option(
            "--paths",
            help="A ChannelAttribution-style path table (path with ' > ', total_conversions, "
            "total_conversion_value, total_null; CSV with , or ; or Parquet). No workspace needed.",
        ),
    ] = None,
    sourced: Annotated[
        bool, typer.Option("--sourced", help="Print sourced vs influenced totals per team instead.")
    ] = False,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,  # type: ignore[assignment]
) -> None:
    """Who gets credit for conversions and revenue: every rule, exact Markov and Shapley, with intervals."""
    import numpy as np

    from fairshare.attribution import MODEL_NAMES
    from fairshare.attribution import attribute as run_attribution
    from fairshare.attribution.paths import Paths, read_paths
    from fairshare.config import CONFIG_NAME, DefinitionsError
    from fairshare.workspace import Workspace

    folder = workspace or default_workspace()
    if model != "all" and model not in MODEL_NAMES:
        fail(f"unknown model {model!r}", hint=f"use one of: {', '.join(MODEL_NAMES)}, all")
    if by not in ("channel", "campaign", "team"):
        fail(f"unknown grouping {by!r}", hint="use --by channel, campaign or team")
    if stage not in ("revenue", "pipeline"):
        fail(f"unknown stage {stage!r}", hint="use --stage revenue or pipeline")
    try:
        ws = Workspace(folder, read_only=True)  # reads the definitions once; connects only when used
    except DefinitionsError as e:
        fail(str(e), hint=f"fix {Path(folder) / CONFIG_NAME}")
    settings = ws.definitions.attribution
    n_boot = settings.bootstrap if bootstrap is None else bootstrap
    if n_boot < 0:
        fail("--bootstrap must be >= 0")
    if not 0 < level < 1:
        fail("--level must be between 0 and 1", hint="e.g. --level 0.9")
    orders = order or [1]
    if any(k < 1 for k in orders):
        fail("--order must be >= 1")

    if paths is not None:
        if sourced:
            fail("--sourced needs a workspace (opportunities and leads), not a path table")
        if not paths.exists():
            fail(f"no such file: {paths}")
        try:
            data = Paths.from_frame(read_paths(paths))
        except (ValueError, KeyError) as e:
            fail(str(e), hint="columns: path, total_conversions, total_conversion_value, total_null")
        if model == "time_decay":
            fail(
                "time_decay needs touch times, which a path table does not have", hint="run it on a workspace"
            )
    else:
        from fairshare.attribution import workspace_paths

        try:
            if sourced:
                from fairshare.attribution.sourced import sourced_totals

                render(sourced_totals(ws), fmt, title="sourced vs influenced")
                return
            found = workspace_paths(
                ws, by=by, stage=stage, include_activities=not no_sales, collapse=collapse
            )
        finally:
            ws.close()
        if found is None:
            fail("no journeys in this workspace", hint="import touches/activities and opportunities first")
        data = found
    try:
        result = run_attribution(data, model, order=orders, bootstrap=n_boot, level=level,
                                 rng=np.random.default_rng(0), settings=settings)  # fmt: skip
    except ValueError as e:
        fail(str(e))
    render(result, fmt, title=f"attribution by {by}" if paths is None else f"attribution ({paths.name})")
