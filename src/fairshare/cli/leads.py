"""`fairshare leads score|explain|evaluate`: lead value, effort and reasons; CV evaluation of any lead table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fairshare.cli.app import FormatOption, WorkspaceOption, app
from fairshare.cli.data import open_workspace
from fairshare.cli.output import Format, err_console, fail, library_warnings, render
from fairshare.cli.stored import RefitOption, stored_table

leads_app = typer.Typer(help="Lead value, effort to convert and reasons; evaluate lead scoring on any table.",
                        no_args_is_help=True)  # fmt: skip
app.add_typer(leads_app, name="leads")


def _fit(ws, horizon: float | None):
    from fairshare.scoring import score_workspace

    if int(ws.table("leads").count().execute()) == 0:
        fail("the workspace has no leads", hint="import a leads table first: fairshare import FOLDER")
    return score_workspace(
        ws, horizon_days=ws.definitions.scoring.horizon_days if horizon is None else horizon
    )


HorizonOption = Annotated[
    float | None,
    typer.Option(
        "--horizon",
        help="Score each lead as it stood this many days after it arrived (default: [scoring] horizon_days).",
    ),
]
#: Columns of the run's `leads` table that `leads score` does not print (the reps area reads them).
ARRIVAL_COLUMNS = ["p_opportunity_at_arrival", "p_win_at_arrival"]


@leads_app.command("score")
def score(
    top: Annotated[int, typer.Option("--top", "-n", help="Show the N most valuable leads (0 = all).")] = 20,
    open_only: Annotated[
        bool, typer.Option("--open", help="Only leads without a closed outcome yet.")
    ] = False,
    horizon: HorizonOption = None,
    refit: RefitOption = False,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,  # type: ignore[assignment]
) -> None:
    """Every lead's P(opportunity), P(win), $ value with interval, effort hours, value per hour and reasons."""
    from fairshare.scoring.features import lead_outcomes

    with open_workspace(workspace, read_only=True) as ws:
        same = horizon is None or horizon == ws.definitions.scoring.horizon_days
        table = stored_table(ws, "leads", refit, same_options=same, say=fmt is Format.table)
        if table is None:
            with library_warnings():
                _, _, table = _fit(ws, horizon)
        else:
            table = table.drop(columns=[c for c in ARRIVAL_COLUMNS if c in table])
        if open_only:
            resolved = lead_outcomes(ws.con)["resolved"]
            table = table[~table["lead_id"].map(resolved).fillna(False).astype(bool)]
    shown = table.head(top) if top > 0 else table
    render(shown.reset_index(drop=True), fmt, title="Leads by value")
    if fmt is Format.table and len(shown) < len(table):
        err_console.print(f"the {len(shown):,} most valuable of {len(table):,} leads; --top 0 for all",
                          highlight=False)  # fmt: skip


@leads_app.command("explain")
def explain(
    lead_id: Annotated[str, typer.Argument(help="The lead to explain.")],
    horizon: HorizonOption = None,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,  # type: ignore[assignment]
) -> None:
    """Why a lead scores as it does: each feature's value and its contribution to the log-odds of winning."""
    with open_workspace(workspace, read_only=True) as ws, library_warnings():
        scorer, features, table = _fit(ws, horizon)
    if lead_id not in features.index:
        fail(f"no lead {lead_id!r} in the workspace", hint="list leads with: fairshare leads score --top 0")
    row = table[table["lead_id"] == lead_id].iloc[0]
    if fmt is Format.table:
        render(row.to_dict(), fmt, title=f"Lead {lead_id}")
    render(scorer.explain(features, lead_id), fmt, title="Contributions (log-odds of winning)")


@leads_app.command("evaluate")
def evaluate(
    file: Annotated[Path, typer.Argument(help="A flat lead table (CSV or Parquet), one row per lead.")],
    target: Annotated[str, typer.Option("--target", "-t", help="The 0/1 (or yes/no) outcome column.")],
    id_column: Annotated[str | None, typer.Option("--id", help="The lead id column (not a feature).")] = None,
    drop: Annotated[
        list[str] | None,
        typer.Option(
            "--drop", "-d", help="Columns to leave out, e.g. ones filled in after contact (repeatable)."
        ),
    ] = None,
    folds: Annotated[int, typer.Option("--folds", help="Stratified CV folds.")] = 5,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,  # type: ignore[assignment]  # accepted for uniformity; the file stands alone
) -> None:
    """Stratified k-fold CV of the calibrated LightGBM lead model next to a one-hot logistic baseline.

    Needs no workspace: FILE is evaluated on its own (the workspace's own CV is the `lead_validation`
    table of `fairshare run`).
    """
    from fairshare.scoring.evaluate import evaluate_leads, read_lead_table

    if not file.exists():
        fail(f"no such file: {file}")
    if folds < 2:
        fail("--folds must be at least 2")
    try:
        frame = read_lead_table(file)
        result = evaluate_leads(frame, target, id_column=id_column, drop=drop or (), n_splits=folds)
    except (KeyError, ValueError) as e:
        fail(
            str(e.args[0]) if e.args else str(e),
            hint="check --target, --id and --drop against the file's columns",
        )
    render(result, fmt, title=f"{folds}-fold CV on {file.name} (target {target})")
    if fmt is Format.table:
        a = result.attrs
        err_console.print(
            f"{a['rows']:,} rows, {a['positives']:,} positive, {a['features']} feature columns; "
            f"identifier columns left out: {', '.join(a['excluded']) or 'none'}; "
            f"calibration per fold: {', '.join(a['calibration'])}",
            highlight=False,
        )
