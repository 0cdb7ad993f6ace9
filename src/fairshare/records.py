"""Result tables as JSON-safe records: the one conversion the CLI, the API and the web pages share."""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def _isna(value: Any) -> bool:
    """pandas' missing-value test, without importing pandas (a pandas scalar implies it is loaded):
    the CLI imports this module at start-up."""
    pd = sys.modules.get("pandas")
    if pd is None:
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def json_safe(value: Any) -> Any:
    """A JSON-safe scalar: NaN → null, numpy → python, timestamps → ISO-8601."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        if _isna(value):
            return None
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            return json_safe(value.item())
        except (ValueError, AttributeError):
            pass
    if _isna(value):
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of `frame` as JSON-safe dicts keyed by the documented column names."""
    return [{k: json_safe(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
