"""`fairshare run`: fit every model on the workspace, in order, and store all result tables at once.

Each area package exposes `results(ws, upstream) -> dict[str, DataFrame]`; `upstream` holds the
tables computed earlier in the same run. `AREAS` lists them in order (imported statically, so
readers and tools see the wiring). An area that cannot run here (`AreaMissing`: e.g. no leads to
score) or that fails is recorded as a row of the `run_log` table instead of stopping the run, so the report,
the API and the dashboard always find a consistent snapshot and can say what is missing.

Besides the areas' tables the run stores:

- `run_log` (area, status, tables, rows, seconds, message): status is `ok`, `missing` or `failed`;
- `inputs` (table, rows): canonical table sizes at run time (the API reports them without
  opening the warehouse);
- `validation` (model, check, metric, value, reference, passed, source): "how we know" per model —
  cross-validation metrics on the workspace's data and, with `truth_dir` (a simulator's `truth/`
  folder), estimates against the known truth.
"""

from __future__ import annotations

import gc
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fairshare import (
    attribution,
    contribution,
    diagnose,
    economics,
    forecast,
    funnel,
    notes,
    prospecting,
    reps,
    routing,
    scorecard,
    scoring,
)
from fairshare.errors import AreaMissing
from fairshare.validation import VALIDATION_COLUMNS, load_truth, validation_table  # noqa: F401 (public here too)

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

#: progress(stage description, stages done, stages in all)
RunProgress = Callable[[str, int, int], None]

RUN_LOG_COLUMNS = ["area", "status", "tables", "rows", "seconds", "message"]


@dataclass(frozen=True)
class Area:
    """One model area of the run: its `results(ws, upstream)` function and the tables it makes."""

    name: str
    results: Callable[..., dict[str, pd.DataFrame]]
    tables: tuple[str, ...]


AREAS: tuple[Area, ...] = (
    Area(
        "funnel",
        funnel.results,
        ("funnel", "funnel_breakdown", "sla", "sla_breaches", "speed_to_lead", "stuck_pipeline"),
    ),
    Area("attribution", attribution.results, ("attribution", "attribution_sourced")),
    Area(
        "contribution",
        contribution.results,
        ("contribution", "contribution_reconciliation", "experiment"),
    ),
    Area("scoring", scoring.results, ("leads", "lead_validation")),
    Area("routing", routing.results, ("queue",)),
    Area("diagnose", diagnose.results, ("diagnosis", "diagnosis_evidence", "diagnosis_recommendations")),
    Area("reps", reps.results, ("reps",)),
    Area(
        "notes",
        notes.results,
        ("note_themes", "note_theme_breakdown", "deal_sentiment", "note_signals", "rep_factors"),
    ),
    Area("economics", economics.results, ("economics", "prospecting")),
    Area("prospecting", prospecting.results, ("prospecting_verdict",)),
    Area("forecast", forecast.results, ("forecast", "forecast_backtest", "forecast_whatif")),
    Area("scorecard", scorecard.results, ("scorecard",)),
)


def run(
    ws: Workspace,
    progress: RunProgress | None = None,
    truth_dir: str | Path | None = None,
    areas: tuple[Area, ...] | None = None,
) -> dict[str, Any]:
    """Fit every area on `ws`, store every table with `ws.save_results`, return the run manifest.

    The manifest gains `log`: the `run_log` rows as dicts (missing and failed areas say why).
    """
    areas = AREAS if areas is None else areas
    started = time.perf_counter()
    total = len(areas) + 2
    tell = progress or (lambda *_: None)
    tell("counting inputs", 0, total)
    upstream: dict[str, pd.DataFrame] = {}
    log: list[dict[str, Any]] = []
    inputs = pd.DataFrame(
        [{"table": t, "rows": int(n)} for t, n in ws.status()["tables"].items()], columns=["table", "rows"]
    )
    for i, area in enumerate(areas, start=1):
        tell(area.name, i, total)
        t0 = time.perf_counter()
        try:
            tables = area.results(ws, dict(upstream))
            if not isinstance(tables, dict):
                raise TypeError(f"area {area.name}: results returned {type(tables).__name__}, not a dict")
        except AreaMissing as e:
            log.append(_log_row(area, "missing", {}, time.perf_counter() - t0, str(e)))
            continue
        except Exception as e:  # noqa: BLE001 (one area failing must not lose the others' results)
            message = f"{type(e).__name__}: {e} ({_where(e)})"
            log.append(_log_row(area, "failed", {}, time.perf_counter() - t0, message))
            continue
        frames = {str(k): v for k, v in tables.items() if isinstance(v, pd.DataFrame) and len(v.columns)}
        upstream.update(frames)
        absent = [t for t in area.tables if t not in frames]
        message = f"did not return: {', '.join(absent)}" if absent else ""  # (tables without columns: absent)
        log.append(_log_row(area, "ok", frames, time.perf_counter() - t0, message))
    gc.collect()  # areas' ibis .cache() tables are dropped now, while the connection is still open
    tell("validation", len(areas) + 1, total)
    truth = load_truth(truth_dir) if truth_dir else {}
    validation = validation_table(upstream, truth)
    tell("storing results", len(areas) + 2, total)
    run_log = pd.DataFrame(log, columns=RUN_LOG_COLUMNS)
    tables = {**upstream, "validation": validation, "inputs": inputs, "run_log": run_log}
    manifest = ws.save_results({k: _typed(v) for k, v in tables.items()}, time.perf_counter() - started)
    manifest["log"] = log
    return manifest


def _where(error: BaseException) -> str:
    """`at file:line`, plus the innermost fairshare frame when the error came from a library."""
    frames = traceback.extract_tb(error.__traceback__)
    last = frames[-1]
    text = f"at {Path(last.filename).name}:{last.lineno}"
    ours = [f for f in frames if f"{Path('fairshare')}" in f.filename and "run.py" not in f.filename]
    if ours and ours[-1] is not last:
        text += f", from {Path(ours[-1].filename).name}:{ours[-1].lineno}"
    return text


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns without a single value typed as text (the warehouse cannot store NULL-typed columns)."""
    empty = [c for c in frame.columns if frame[c].dtype == object and frame[c].isna().all()]
    return frame.astype({c: "string" for c in empty}) if empty else frame


def _log_row(area: Area, status: str, frames: dict[str, pd.DataFrame], seconds: float, message: str) -> dict:
    return {
        "area": area.name,
        "status": status,
        "tables": ",".join(sorted(frames)),
        "rows": int(sum(len(f) for f in frames.values())),
        "seconds": round(float(seconds), 3),
        "message": message,
    }
