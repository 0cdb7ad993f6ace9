"""Terminal output: tables fit 80 columns, long tables say how to get every row, warnings said once."""

import warnings

import pandas as pd
import pytest

from fairshare.cli import output


@pytest.fixture
def narrow(monkeypatch):
    from rich.console import Console

    real = Console(width=80, record=True, force_terminal=False)
    monkeypatch.setattr(output.console, "_real", real)
    monkeypatch.setattr(output.err_console, "_real", Console(width=80, record=True, force_terminal=False))
    return real


def _lines(console) -> list[str]:
    return console.export_text().splitlines()


def test_a_wide_table_shortens_numbers_then_goes_vertical_but_never_cuts(narrow):
    kpis = pd.DataFrame({"kpi": ["bookings", "marketing_influenced_opportunities"], "value": [2_224_700.0, 135.0],
                         "unit": ["USD", "count"], "ci_low": [1_900_000.0, 120.0], "ci_high": [2_500_000.0, 150.0],
                         "previous_value": [3_136_400.0, 138.0], "change": [-911_700.0, -3.0],
                         "note": ["", "opportunities with a marketing touch before creation"]})  # fmt: skip
    output.render(kpis, title="scorecard")
    lines = _lines(narrow)
    text = "\n".join(lines)
    assert max(len(line) for line in lines) <= 80
    assert "2.2M" in text and "-912k" in text  # short units, never "2,224,…"
    assert "marketing_influenced_opportunities" in text  # whole words, not "marketi…"
    assert "…" not in text


def test_a_table_that_fits_keeps_full_numbers(narrow):
    output.render(pd.DataFrame({"rep": ["Ann"], "won": [2_224_700.0]}))
    assert "2,224,700" in narrow.export_text()


def test_long_tables_say_how_to_get_every_row(narrow):
    output.render(pd.DataFrame({"n": range(120)}), limit=50, more="--limit 0")
    assert len([x for x in _lines(narrow) if x.strip(" │").isdigit()]) == 50
    assert "showing 50 of 120 rows; --limit 0 for every row" in output.err_console.export_text()


def test_library_warnings_are_summarised_once(narrow):
    with output.library_warnings():
        for _ in range(3):
            warnings.warn("Skipping features without any observed values: ['a' 'b']. At least one ...", UserWarning,
                          stacklevel=1)  # fmt: skip
        warnings.warn("Skipping features without any observed values: ['c']. At least one ...", UserWarning,
                      stacklevel=1)  # fmt: skip
        warnings.warn("X does not have valid feature names", UserWarning, stacklevel=1)
        warnings.warn("X does not have valid feature names", UserWarning, stacklevel=1)
        warnings.warn("old API", DeprecationWarning, stacklevel=1)
    said = output.err_console.export_text()
    assert "3 feature(s) had no values and were ignored: a, b, c" in said
    assert "UserWarning: X does not have valid feature names (×2)" in said
    assert "old API" not in said and said.count("note:") == 2
