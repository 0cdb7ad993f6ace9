"""`fairshare notes themes|evaluate`: themes and objections in activity notes, and what notes add to deal scoring."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from fairshare.cli.app import FormatOption, WorkspaceOption, app, open_workspace
from fairshare.cli.output import Format, library_warnings, render
from fairshare.cli.stored import RefitOption, stored_table

notes_app = typer.Typer(help="Themes, objections and deal signals in activity notes.", no_args_is_help=True)
app.add_typer(notes_app, name="notes")


class By(StrEnum):
    segment = "segment"
    rep = "rep"
    stage = "stage"
    outcome = "outcome"


@notes_app.command("themes")
def themes_command(
    by: Annotated[
        By | None, typer.Option("--by", help="Break themes down by segment, rep, stage or outcome.")
    ] = None,
    refit: RefitOption = False,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,  # type: ignore[assignment]
) -> None:
    """Themes found in the notes (TF-IDF + NMF): notes, deals, win rate and lift (90% CI) of deals with each."""
    name = "note_themes" if by is None else "note_theme_breakdown"
    with open_workspace(workspace, read_only=True) as ws:
        table = stored_table(ws, name, refit, say=fmt is Format.table)
        if table is None:
            from fairshare.notes import results

            with library_warnings():
                table = results(ws, {})[name]
    if by is not None:
        table = table[table["by"] == by.value].reset_index(drop=True)
    elif fmt is Format.table:
        table = table.drop(columns=["examples"])
    render(table, fmt, title="Note themes (lift = win rate of deals with the theme / without)")


@notes_app.command("evaluate")
def evaluate_command(
    as_of_days: Annotated[
        float | None, typer.Option("--as-of-days", help="Read deals this many days after creation.")
    ] = None,
    fmt: FormatOption = Format.table,
    workspace: WorkspaceOption = None,  # type: ignore[assignment]
) -> None:
    """5-fold cross-validated AUC of "this deal will be won" with and without point-in-time note features."""
    from fairshare.notes import evaluate

    with open_workspace(workspace, read_only=True) as ws, library_warnings():
        table = evaluate(ws, as_of_days)
    render(
        table, fmt, title="Deal signals: AUC with and without notes (notes at or after the close never used)"
    )
