"""fairshare: what marketing and sales each really contribute to revenue.

The Python API: `Workspace` holds the definitions, the warehouse and the results; the model
packages (`fairshare.attribution`, `fairshare.contribution`, `fairshare.scoring`, ...) work on it.
`Workspace` is imported on first use, so `import fairshare` (and the CLI's start-up) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

__all__ = ["Workspace"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Workspace":
        from fairshare.workspace import Workspace

        return Workspace
    raise AttributeError(f"module 'fairshare' has no attribute {name!r}")
