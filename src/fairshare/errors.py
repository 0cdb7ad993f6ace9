"""Exceptions shared across layers (models raise them, the run, the CLI and the API catch them).

A leaf module: it imports nothing from fairshare, so any layer may import it.
"""

from __future__ import annotations


class AreaMissing(LookupError):
    """An area cannot run here: its module or `results` function does not exist in this
    installation, or the warehouse lacks the data it needs (e.g. no leads to score)."""


class NoResults(LookupError):
    """The workspace has no stored run yet."""


class FeatureTableTooLarge(MemoryError):
    """A feature table would exceed `[workspace] max_feature_cells` (rows x columns) in Python."""
