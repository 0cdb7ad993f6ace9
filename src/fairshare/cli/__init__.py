"""The `fairshare` command line: thin commands over `fairshare.Workspace` and the model classes."""

from fairshare.cli import (  # noqa: F401  (registers commands)
    attribute,
    contribution,
    data,
    diagnose,
    forecast,
    funnel,
    leads,
    notes,
    queue,
    reps,
    serve,
    simulate,
)
from fairshare.cli.app import app

__all__ = ["app"]
