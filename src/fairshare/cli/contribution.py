"""Commands for incremental contribution and experiments: contribution, experiment design, experiment analyze."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from fairshare.cli.app import FormatOption, LevelOption, WorkspaceOption, app
from fairshare.cli.data import open_workspace
from fairshare.cli.output import Format, console, err_console, fail, library_warnings, records, render
from fairshare.cli.stored import RefitOption, stored_table

experiment_app = typer.Typer(help="Design and analyze experiments on groups of reps, leads or accounts.",
                             no_args_is_help=True)  # fmt: skip
app.add_typer(experiment_app, name="experiment")

TEAM_UNITS = ("marketing", "sdr", "sdr_outbound", "sdr_contact", "speed_to_lead", "ae")


class By(StrEnum):
    all = "all"
    team = "team"
    channel = "channel"


def _read_units(path: Path):
    import pandas as pd

    if not path.exists():
        fail(f"{path} does not exist", hint="pass a CSV or Parquet file with one row per unit")
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


@app.command("contribution")
def contribution_command(
    by: Annotated[By, typer.Option("--by", help="team (marketing, SDR, AE), channel, or all rows")] = By.all,
    level: Annotated[
        float | None,
        typer.Option("--level", min=0.5, max=0.999, help="interval level (default: contribution.level)"),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="500 smaller-step trees instead of 150 (slower, smoother)")
    ] = False,
    refit: RefitOption = False,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Incremental won revenue of marketing, each channel, SDR and AE work, with intervals (DML)."""
    ws = open_workspace(workspace, read_only=True)
    try:
        run_level = ws.definitions.contribution.level
        level = run_level if level is None else level
        table = stored_table(
            ws, "contribution", refit, same_options=not full and level == run_level, say=fmt is Format.table
        )
        if table is None:
            from fairshare.contribution import FULL_SETTINGS, contribution

            with library_warnings():
                table = contribution(ws, level=level, settings=FULL_SETTINGS if full else None)
    except ValueError as e:
        fail(str(e), hint="import accounts, touches, leads, activities and opportunities first")
    finally:
        ws.close()
    if by is By.team:
        table = table.loc[table["unit"].isin(TEAM_UNITS)]
    elif by is By.channel:
        table = table.loc[table["unit"] == "channel"]
    from fairshare.contribution.triangulate import status, strategies_of

    if fmt is Format.json:
        rows = records(table.reset_index(drop=True))
        for r in rows:
            r["strategies"] = strategies_of(r.get("strategies"))
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
        return
    period = (
        table["period"].dropna().iloc[0]
        if "period" in table and table["period"].notna().any()
        else "all history"
    )
    if fmt is Format.table:
        for rec in table.to_dict(orient="records"):  # the reasons are in `assumptions` / `proposal`
            read = status(rec)
            if read in ("omitted", "assumption"):
                err_console.print(f"note: {rec['unit']} {rec['key']}: {rec['assumptions']}", highlight=False)
            elif read == "not identified":
                err_console.print(f"note: {rec['unit']} {rec['key']}: not identified from this data; would be settled "
                                  f"by a {rec['proposal']}", highlight=False)  # fmt: skip
        warned = table["warnings"].dropna() if "warnings" in table else []
        if len(warned) and warned.iloc[0]:
            err_console.print(f"warning: {warned.iloc[0]}", highlight=False)
        table = _for_terminal(
            table.assign(status=[status(r) for r in table.to_dict(orient="records")]), level
        )
    render(
        table.reset_index(drop=True), fmt, title=f"incremental won revenue, {period} ({level:.0%} intervals)"
    )


def _for_terminal(table, level: float):
    """The contribution table for people: the interval in one column, short money, and method names
    that may wrap between their parts (JSON and CSV keep every column as stored)."""
    import pandas as pd

    from fairshare.cli.output import short_number

    def money(v) -> str:
        return "" if pd.isna(v) else short_number(float(v))

    return pd.DataFrame({
        "unit": table["unit"], "key": table["key"], "estimate": table["estimate"].map(money),
        f"{level:.0%} interval": [f"{money(a)} to {money(b)}" if not (pd.isna(a) or pd.isna(b)) else ""
                                  for a, b in zip(table["ci_low"], table["ci_high"], strict=True)],
        "status": table["status"],
        "method": table["method"].str.replace("+", " + ", regex=False).str.replace("-", " - ", regex=False),
        "exposed": table["n_exposed"], "robustness": table["robustness_value"],
        "overlap_warning": table["overlap_warning"],
    })  # fmt: skip


@experiment_app.command("design")
def design_command(
    units: Annotated[Path, typer.Option("--units", help="CSV/Parquet with one row per unit to randomize")],
    experiment_id: Annotated[str, typer.Option("--experiment-id", help="name of the experiment")],
    unit_type: Annotated[str, typer.Option("--unit-type", help="lead, account or rep")] = "rep",
    unit_col: Annotated[str, typer.Option("--unit-col", help="column holding the unit id")] = "unit_id",
    arms: Annotated[str, typer.Option("--arms", help="comma-separated arm names")] = "control,treatment",
    strata: Annotated[list[str] | None, typer.Option("--strata", help="column(s) to block on")] = None,
    seed: Annotated[int, typer.Option("--seed", help="random seed (same seed, same assignment)")] = 0,
    out: Annotated[
        Path | None, typer.Option("--out", help="write the assignment (experiments table) here")
    ] = None,
    sd: Annotated[
        float | None, typer.Option("--sd", help="outcome standard deviation per unit: print power")
    ] = None,
    effect: Annotated[
        float | None, typer.Option("--effect", help="lift to detect (power is printed for it)")
    ] = None,
    cluster_size: Annotated[float, typer.Option("--cluster-size", help="units per randomized cluster")] = 1.0,
    icc: Annotated[float, typer.Option("--icc", help="intra-cluster correlation of the outcome")] = 0.0,
    alpha: Annotated[float, typer.Option("--alpha")] = 0.05,
    fmt: FormatOption = Format.table,
) -> None:
    """Blocked randomization into arms (experiments table format), and power / minimum detectable effect."""
    import numpy as np

    from fairshare.contribution.experiments import assign_arms, minimum_detectable_effect, power

    frame = _read_units(units)
    try:
        assigned = assign_arms(frame, experiment_id=experiment_id, unit_type=unit_type, rng=np.random.default_rng(seed),
                               arms=[a.strip() for a in arms.split(",")], unit_col=unit_col, strata=strata or ())  # fmt: skip
    except ValueError as e:
        fail(str(e))
    if out is not None:
        assigned.to_csv(out, index=False)
        console.print(f"wrote {len(assigned)} assignments to {out}; import it as experiments.csv")
    if sd is not None:
        n = len(assigned)
        kw = {"n": n, "sd": sd, "alpha": alpha, "cluster_size": cluster_size, "icc": icc}
        try:
            record = {"units": n, "sd": sd, "alpha": alpha, "cluster_size": cluster_size, "icc": icc,
                      "mde_80": minimum_detectable_effect(**kw), "mde_90": minimum_detectable_effect(power=0.9, **kw)}  # fmt: skip
            if effect is not None:
                record["effect"], record["power"] = effect, power(effect, **kw)
        except ValueError as e:
            fail(str(e))
        render(record, fmt, title="power")
    elif out is None:
        render(assigned, fmt, title=experiment_id)


@experiment_app.command("analyze")
def analyze_command(
    units: Annotated[
        Path | None, typer.Option("--units", help="flat CSV/Parquet; omit to use the workspace")
    ] = None,
    arm: Annotated[str, typer.Option("--arm", help="column with the arm")] = "arm",
    outcome: Annotated[list[str] | None, typer.Option("--outcome", help="outcome column(s)")] = None,
    covariates: Annotated[list[str] | None, typer.Option("--covariates", help="pre-period column(s)")] = None,
    cluster: Annotated[str | None, typer.Option("--cluster", help="cluster column, e.g. rep_id")] = None,
    control: Annotated[str | None, typer.Option("--control", help="control arm (default: 'control')")] = None,
    adjustment: Annotated[
        str, typer.Option("--adjustment", help="regression_adjustment or cuped")
    ] = "regression_adjustment",
    level: LevelOption = 0.9,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Lift of each arm over control: difference in means, CUPED/regression adjustment, cluster-robust SEs."""
    from fairshare.contribution.experiments import analyze, workspace_experiment

    if units is None:
        ws = open_workspace(workspace, read_only=True)
        try:
            result = workspace_experiment(ws, level=level)
        finally:
            ws.close()
        if result is None:
            fail("the workspace has no experiment rows", hint="import experiments.csv or pass --units FILE")
    else:
        frame = _read_units(units)
        if not outcome:
            fail("--outcome is required with --units")
        try:
            result = analyze(frame, arm, outcome, control=control, covariates=covariates or (), cluster=cluster,
                             level=level, adjustment=adjustment)  # fmt: skip
        except ValueError as e:
            fail(str(e))
    render(result, fmt, title=f"experiment lifts ({level:.0%} intervals)")
