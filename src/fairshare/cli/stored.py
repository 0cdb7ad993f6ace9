"""Result commands read the last run's stored tables while they still describe the workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from fairshare.cli.output import err_console

if TYPE_CHECKING:
    import pandas as pd

RefitOption = Annotated[
    bool,
    typer.Option("--refit", help="Fit the models again instead of showing the last run's stored results."),
]


def stored_table(
    ws: Any, table: str, refit: bool, same_options: bool = True, say: bool = True
) -> pd.DataFrame | None:
    """The last run's `table` when neither the data nor the definitions changed since (and the
    command's options are the run's), else None: the caller fits. With `say` (table output for
    people), one line on stderr tells which run is shown or why the models are fitted now."""
    from fairshare.results import read, stored

    if refit or not same_options:
        if say:
            why = "--refit" if refit else "these options differ from the stored run's"
            err_console.print(f"fitting now ({why})", highlight=False, soft_wrap=True)
        return None
    state = stored(ws, table)
    if say:
        err_console.print(state.describe(), highlight=False, soft_wrap=True)
    return read(ws.path, table) if state.fresh else None
