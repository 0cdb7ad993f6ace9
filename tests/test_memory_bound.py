"""The memory bound: a feature table of more than `[workspace] max_feature_cells` (rows x columns)
is refused in the engine, before any transfer, with one line saying what to do (docs/scale.md).

examples/tiny has 3 accounts and 3 leads; the counts below are the shapes of its feature tables,
so a bound equal to a table's size lets it through and one cell less refuses it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fairshare import Workspace
from fairshare.config import CONFIG_NAME, Definitions
from fairshare.contribution.exposures import account_exposures, lead_exposures
from fairshare.contribution.panel import panel_events
from fairshare.errors import FeatureTableTooLarge
from fairshare.scoring import score_workspace
from fairshare.scoring.features import LeadFeatures

TINY = Path(__file__).resolve().parents[1] / "examples" / "tiny"


@pytest.fixture(scope="module")
def bounded_ws(tmp_path_factory) -> Workspace:
    """examples/tiny in a workspace whose fairshare.toml allows 10 cells."""
    root = tmp_path_factory.mktemp("bound") / "ws"
    Workspace.init(root)
    config = root / CONFIG_NAME
    config.write_text(config.read_text().replace("max_feature_cells = 250000000", "max_feature_cells = 10"))
    ws = Workspace(root)
    assert ws.definitions.workspace.max_feature_cells == 10  # read from the file, not a default
    ws.import_(TINY)
    yield ws
    ws.close()


def _with_bound(ws: Workspace, cells: int) -> Workspace:
    ws.definitions = ws.definitions.model_copy(
        update={"workspace": ws.definitions.workspace.model_copy(update={"max_feature_cells": cells})}
    )
    return ws


def test_default_bound_is_two_gigabytes_of_float64():
    assert Definitions().workspace.max_feature_cells * 8 == 2_000_000_000


@pytest.mark.parametrize(
    ("build", "what"),
    [
        (account_exposures, "account exposures: 3 rows x 19 columns = 57 cells"),
        (lead_exposures, "lead exposures: 3 rows x 30 columns = 90 cells"),
        (lambda ws: panel_events(ws, ws.definitions.contribution.panel_period_days), "account-period panel"),
        (score_workspace, "lead features: 3 rows x 54 columns = 162 cells"),
    ],
    ids=["account_exposures", "lead_exposures", "panel", "scoring"],
)
def test_a_table_over_the_bound_is_refused_in_one_line(bounded_ws, build, what):
    with pytest.raises(FeatureTableTooLarge) as caught:
        build(_with_bound(bounded_ws, 10))
    message = str(caught.value)
    assert message.startswith(what)
    assert "max_feature_cells = 10 " in message and "fairshare.toml" in message
    assert "\n" not in message


def test_the_bound_counts_the_cells_that_come_back(bounded_ws):
    """Exactly the table's size passes, one cell less fails: the count is the real shape."""
    frame = account_exposures(_with_bound(bounded_ws, 57))
    assert frame.size == 57
    with pytest.raises(FeatureTableTooLarge):
        account_exposures(_with_bound(bounded_ws, 56))
    features = LeadFeatures(max_cells=162).build(bounded_ws.con)
    assert features.size == 162
    with pytest.raises(FeatureTableTooLarge):
        LeadFeatures(max_cells=161).build(bounded_ws.con)
