"""Result tables as JSON-safe records: the one conversion the CLI, the API and the web pages share."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def json_safe(value: Any) -> Any:
    """A JSON-safe scalar: NaN → null, numpy → python, timestamps → ISO-8601."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        try:
            if pd.isna(value):
                return None
        except (TypeError, ValueError):
            pass
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            return json_safe(value.item())
        except (ValueError, AttributeError):
            pass
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of `frame` as JSON-safe dicts keyed by the documented column names."""
    return [{k: json_safe(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
