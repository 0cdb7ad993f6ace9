"""fairshare: what marketing and sales each really contribute to revenue.

The Python API: `Workspace` holds the definitions, the warehouse and the results; the model
packages (`fairshare.attribution`, `fairshare.contribution`, `fairshare.scoring`, ...) work on it.
"""

from fairshare.workspace import Workspace

__all__ = ["Workspace"]
__version__ = "0.1.0"
