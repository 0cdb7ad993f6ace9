"""The context object: each Workspace task method is a thin call into its area."""

from __future__ import annotations

import pytest

from fairshare import Workspace
from fairshare.errors import AreaMissing


def test_attribution_on_the_tiny_example(tiny_ws):
    table = tiny_ws.attribution("linear")
    assert set(table["model"]) == {"linear"}
    assert table["conversions"].sum() == pytest.approx(1.0)  # examples/tiny has one won opportunity
    both = tiny_ws.attribution(order=[1, 2], model="markov")
    assert set(both["model"]) == {"markov_1", "markov_2"}


def test_attribution_without_journeys_says_what_is_missing(tmp_path):
    with Workspace.init(tmp_path / "empty") as ws, pytest.raises(AreaMissing, match="no journeys"):
        ws.attribution()
