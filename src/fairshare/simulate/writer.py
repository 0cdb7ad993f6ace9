"""Write a simulated world to a folder: canonical CSV/Parquet files plus `truth/` (byte-identical per seed)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FileFormat = Literal["csv", "parquet"]


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as ISO-8601 UTC (`2025-03-01T09:30:00Z`), dates as `2025-03-01`, empty for missing."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
            out[col] = s.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(s.notna(), None)
        elif (
            s.dtype == object
            and len(s)
            and hasattr(s.dropna().iloc[0] if s.notna().any() else None, "isoformat")
        ):
            out[col] = s.map(lambda v: v.isoformat() if v is not None and not pd.isna(v) else None)
        elif pd.api.types.is_bool_dtype(s.dtype):
            out[col] = s.map({True: "true", False: "false"})
    return out


def write_table(frame: pd.DataFrame, path: Path, fmt: FileFormat) -> None:
    """One table to `path` (.csv or .parquet)."""
    if fmt == "csv":
        _csv_ready(frame).to_csv(path, index=False, lineterminator="\n")
    elif fmt == "parquet":
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table.replace_schema_metadata(None), path, compression="zstd")
    else:
        raise ValueError(f"unknown format {fmt!r}; use csv or parquet")


def write_world(tables: dict[str, pd.DataFrame], truth: dict[str, pd.DataFrame], out_dir: Path | str,
                fmt: FileFormat = "csv") -> Path:  # fmt: skip
    """Write `<out>/<table>.<fmt>` for every canonical table and `<out>/truth/<name>.<fmt>`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        write_table(frame, out / f"{name}.{fmt}", fmt)
    if truth:
        (out / "truth").mkdir(exist_ok=True)
        for name, frame in truth.items():
            write_table(frame, out / "truth" / f"{name}.{fmt}", fmt)
    return out
