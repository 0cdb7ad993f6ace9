"""The `fairshare` command line: thin commands over `fairshare.Workspace` and the model classes."""

from fairshare.cli import attribute, contribution, data, forecast, funnel, leads, queue, reps, serve, simulate  # noqa: F401  (registers commands)
from fairshare.cli.app import app

__all__ = ["app"]
