"""`fairshare run`: fit every model on the workspace, in order, and store all result tables at once.

Each area package exposes `results(ws, upstream) -> dict[str, DataFrame]`; `upstream` holds the
tables computed earlier in the same run. An area that is not installed (or not written yet) or
that fails is recorded as a row of the `run_log` table instead of stopping the run, so the report,
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
import importlib
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from fairshare.workspace import Workspace

#: progress(stage description, stages done, stages in all)
RunProgress = Callable[[str, int, int], None]

RUN_LOG_COLUMNS = ["area", "status", "tables", "rows", "seconds", "message"]
VALIDATION_COLUMNS = ["model", "check", "metric", "value", "reference", "passed", "source"]


@dataclass(frozen=True)
class Area:
    """One model area of the run: the module holding `results(ws, upstream)` and the tables it makes."""

    name: str
    module: str
    tables: tuple[str, ...]


AREAS: tuple[Area, ...] = (
    Area(
        "funnel",
        "fairshare.funnel",
        ("funnel", "funnel_breakdown", "sla", "sla_breaches", "speed_to_lead", "stuck_pipeline"),
    ),
    Area("attribution", "fairshare.attribution", ("attribution", "attribution_sourced")),
    Area(
        "contribution",
        "fairshare.contribution",
        ("contribution", "contribution_reconciliation", "experiment"),
    ),
    Area("scoring", "fairshare.scoring", ("leads", "lead_validation")),
    Area("reps", "fairshare.reps", ("reps",)),
    Area("economics", "fairshare.economics", ("economics", "prospecting")),
    Area("forecast", "fairshare.forecast", ("forecast", "forecast_backtest", "forecast_whatif")),
    Area("scorecard", "fairshare.scorecard", ("scorecard",)),
)


class AreaMissing(LookupError):
    """The area's module, or its `results` function, does not exist in this installation."""


def _results_function(area: Area) -> Callable[..., dict[str, pd.DataFrame]]:
    try:
        module = importlib.import_module(area.module)
    except ModuleNotFoundError as e:
        if e.name and (area.module == e.name or area.module.startswith(e.name + ".")):
            raise AreaMissing(f"module {area.module} is not installed") from None
        raise
    fn = getattr(module, "results", None)
    if not callable(fn):
        raise AreaMissing(f"{area.module} has no results(ws, upstream) function yet")
    return fn


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
            fn = _results_function(area)
            tables = fn(ws, dict(upstream))
            if not isinstance(tables, dict):
                raise TypeError(f"{area.module}.results returned {type(tables).__name__}, not a dict")
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


# --- validation: "how we know" -------------------------------------------------------------------


def load_truth(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The simulator's truth tables (every .parquet / .csv file in `folder`, by file stem)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"truth folder {folder} does not exist")
    out: dict[str, pd.DataFrame] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".parquet":
            out[path.stem] = pd.read_parquet(path)
        elif path.suffix == ".csv":
            out[path.stem] = pd.read_csv(path)
    return out


def validation_table(results: dict[str, pd.DataFrame], truth: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows of (model, check, metric, value, reference, passed, source) from CV metrics and truth."""
    rows: list[dict[str, Any]] = []
    if "lead_validation" in results:
        rows += _cv_rows(results["lead_validation"])
    if truth:
        rows += _contribution_truth_rows(results.get("contribution"), truth.get("incremental"))
        rows += _lead_truth_rows(results.get("leads"), truth.get("leads"))
        rows += _rep_truth_rows(results.get("reps"), truth.get("reps"))
        rows += _experiment_truth_rows(results.get("experiment"), truth.get("experiment"))
        rows += _funnel_truth_rows(results.get("speed_to_lead"), truth.get("scenarios"))
    frame = pd.DataFrame(rows, columns=VALIDATION_COLUMNS)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    frame["reference"] = pd.to_numeric(frame["reference"], errors="coerce").astype(float)
    frame["passed"] = frame["passed"].astype("boolean")
    return frame


#: CV metrics where lower is better (the rest: higher is better).
LOWER_IS_BETTER = ("brier", "ece", "log_loss", "expected_calibration_error")


def _cv_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Cross-validated lead-model metrics (model, metric, mean, std, fold_k): each model's mean against
    the baseline model's mean (the row whose model name contains "baseline"); passed = beats it."""
    if table.empty or not {"model", "metric"} <= set(table.columns):
        return []
    value_col = "mean" if "mean" in table.columns else "value" if "value" in table.columns else None
    if value_col is None:
        return []
    baseline = table[table["model"].astype(str).str.contains("baseline")]
    base = dict(zip(baseline["metric"], baseline[value_col], strict=False))
    folds = sum(str(c).startswith("fold_") for c in table.columns)
    rows = []
    for rec in table.to_dict(orient="records"):
        is_base = "baseline" in str(rec["model"])
        ref = None if is_base else base.get(rec["metric"])
        value = rec[value_col]
        passed = None
        if ref is not None and pd.notna(ref) and pd.notna(value):
            passed = bool(value < ref) if rec["metric"] in LOWER_IS_BETTER else bool(value > ref)
        spread = f" ± {rec['std']:.3g} (std over folds)" if pd.notna(rec.get("std")) else ""
        rows.append({
            "model": f"scoring:{rec['model']}",
            "check": "cross_validation",
            "metric": str(rec["metric"]),
            "value": value,
            "reference": ref,
            "passed": passed,
            "source": f"workspace data, {folds or 'k'}-fold CV{spread}; reference = logistic baseline's mean",
        })  # fmt: skip
    return rows


def _contribution_truth_rows(estimates: pd.DataFrame | None, truth: pd.DataFrame | None) -> list[dict]:
    """Each incremental estimate against the simulator's replayed truth: inside its interval?"""
    if estimates is None or truth is None or estimates.empty or "incremental_revenue" not in truth:
        return []
    true_by_unit = dict(
        zip(truth["unit"].astype(str), truth["incremental_revenue"].astype(float), strict=False)
    )
    rows = []
    for rec in estimates.to_dict(orient="records"):
        for name in (
            str(rec.get("key", "")),
            f"{rec.get('unit', '')}:{rec.get('key', '')}",
            str(rec.get("unit")),
        ):
            if name in true_by_unit:
                value, ref = float(rec["estimate"]), true_by_unit[name]
                low, high = rec.get("ci_low"), rec.get("ci_high")
                inside = bool(low <= ref <= high) if pd.notna(low) and pd.notna(high) else None
                assumed = str(rec.get("method", "")) == "baseline"
                rows.append(
                    {
                        "model": f"contribution:{name}",
                        "check": "assumption" if assumed else "simulator_truth",
                        "metric": "incremental_revenue",
                        "value": value,
                        "reference": ref,
                        # An assumed baseline is not an estimate: agreement with the simulator only says
                        # the assumption matches the simulator's setting, so it is not scored as passed.
                        "passed": None if assumed else inside,
                        "source": "assumed baseline from [contribution] (not estimated); reference = simulator replay"
                        if assumed
                        else "simulator replay with the unit switched off; passed = truth inside the interval",
                    }
                )
                break
    return rows


def _spearman(a: pd.Series, b: pd.Series) -> float:
    if len(a) < 3:
        return float("nan")
    ra, rb = a.rank().to_numpy(float), b.rank().to_numpy(float)
    if np.std(ra) == 0 or np.std(rb) == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def _lead_truth_rows(leads: pd.DataFrame | None, truth: pd.DataFrame | None) -> list[dict]:
    """Predicted against true P(win): the current score and, when the scoring area provides it, the
    score as of the lead's arrival (`p_win_at_arrival`)."""
    if leads is None or truth is None or "true_p_win" not in truth or "lead_id" not in leads:
        return []
    rows = []
    for column in (c for c in ("p_win", "p_win_at_arrival") if c in leads.columns):
        both = (
            leads[["lead_id", column]]
            .astype({"lead_id": str})
            .merge(truth[["lead_id", "true_p_win"]].astype({"lead_id": str}), on="lead_id")
            .dropna()
        )
        rho = _spearman(both[column], both["true_p_win"])
        rows.append({"model": "scoring:p_win", "check": "simulator_truth",
                     "metric": f"spearman({column}, true_p_win)", "value": rho, "reference": 0.8,
                     "passed": bool(rho >= 0.8) if not np.isnan(rho) else None,
                     "source": f"{len(both)} simulated leads; target >= 0.8"})  # fmt: skip
        if len(both):
            rows.append({"model": "scoring:p_win", "check": "simulator_truth",
                         "metric": f"mean({column}) - mean(true_p_win)",
                         "value": float(both[column].mean() - both["true_p_win"].mean()), "reference": 0.0,
                         "passed": None, "source": "calibration in the large"})  # fmt: skip
    return rows


def _rep_truth_rows(reps: pd.DataFrame | None, truth: pd.DataFrame | None) -> list[dict]:
    if reps is None or truth is None or "ability" not in reps or "true_skill" not in truth:
        return []
    both = reps.astype({"rep_id": str}).merge(
        truth[["rep_id", "true_skill"]].astype({"rep_id": str}), on="rep_id"
    )
    rho = _spearman(both["ability"], both["true_skill"])
    raw = float("nan")
    if "win_rate" in both.columns:
        raw = _spearman(both["win_rate"].astype(float).fillna(0.0), both["true_skill"])
    elif {"wins", "leads"} <= set(both.columns):
        rate = both["wins"].astype(float) / both["leads"].astype(float).where(both["leads"] > 0)
        raw = _spearman(rate.fillna(0.0), both["true_skill"])
    return [
        {
            "model": "reps:ability",
            "check": "simulator_truth",
            "metric": "spearman(ability, true_skill)",
            "value": rho,
            "reference": raw,
            "passed": bool(rho > raw) if not (np.isnan(rho) or np.isnan(raw)) else None,
            "source": f"{len(both)} reps; reference = raw win rate's correlation with true skill",
        }
    ]


def _inside(low: Any, value: float, high: Any) -> bool | None:
    return bool(low <= value <= high) if pd.notna(low) and pd.notna(high) else None


def _experiment_truth_rows(estimates: pd.DataFrame | None, truth: pd.DataFrame | None) -> list[dict]:
    """Experiment lift on revenue against the simulator's true revenue effect (when it knows one)."""
    if (
        estimates is None
        or truth is None
        or "revenue_effect" not in truth
        or "experiment_id" not in estimates
    ):
        return []
    rows = []
    effects = truth.dropna(subset=["revenue_effect"]).set_index("experiment_id")["revenue_effect"]
    for rec in estimates.to_dict(orient="records"):
        if rec.get("outcome") == "won_revenue" and rec["experiment_id"] in effects.index:
            ref = float(effects[rec["experiment_id"]])
            rows.append({"model": f"experiment:{rec['experiment_id']}", "check": "simulator_truth",
                         "metric": "revenue lift", "value": rec.get("estimate"), "reference": ref,
                         "passed": _inside(rec.get("ci_low"), ref, rec.get("ci_high")),
                         "source": "simulator replay with nobody / everybody treated"})  # fmt: skip
    return rows


def _funnel_truth_rows(speed: pd.DataFrame | None, scenarios: pd.DataFrame | None) -> list[dict]:
    """Never-contacted share measured from the warehouse against the simulator's event log."""
    if speed is None or scenarios is None or "never_contacted_share" not in scenarios:
        return []
    overall = speed[speed.get("source_team", pd.Series(dtype=str)) == "all"]
    factual = scenarios[scenarios["scenario"] == "factual"]
    if overall.empty or factual.empty or "never_contacted_share" not in overall:
        return []
    rec, ref = overall.iloc[0], float(factual["never_contacted_share"].iloc[0])
    return [{"model": "funnel:speed_to_lead", "check": "simulator_truth", "metric": "never_contacted_share",
             "value": rec["never_contacted_share"], "reference": ref,
             "passed": _inside(rec.get("ci_low"), ref, rec.get("ci_high")),
             "source": "simulator event log (factual world); passed = truth inside the interval"}]  # fmt: skip
