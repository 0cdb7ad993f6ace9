"""Read-only JSON endpoints under /api. Handlers only read the cached results snapshot."""

from __future__ import annotations

import json
from json import dumps
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response

from fairshare.api import schemas
from fairshare.api.auth import require_token
from fairshare.api.snapshot import NoResults, Snapshot
from fairshare.records import records

router = APIRouter(prefix="/api", dependencies=[Depends(require_token)], tags=["results"])

MAX_PAGE = 500


async def snapshot(request: Request) -> Snapshot:
    """The current results snapshot (503 before the first `fairshare run`)."""
    try:
        return request.app.state.reader.current()
    except NoResults as e:
        raise HTTPException(503, detail=str(e)) from None


Snap = Annotated[Snapshot, Depends(snapshot)]


def _rows(frame: pd.DataFrame, limit: int | None = None) -> list[dict[str, Any]]:
    return records(frame if limit is None else frame.head(limit))


def rows_json(frame: pd.DataFrame) -> str:
    """Rows as a JSON array (pandas' C encoder: NaN → null, times ISO-8601) for the hot endpoints."""
    if frame.empty:
        return "[]"
    return frame.to_json(orient="records", date_format="iso", force_ascii=False)


def row_texts(frame: pd.DataFrame) -> list[str]:
    """Each row's JSON object as text, in row order (rendered once per snapshot for paging)."""
    if frame.empty:
        return []
    lines = frame.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
    return lines.rstrip("\n").split("\n")


def json_response(body: str) -> Response:
    return Response(body, media_type="application/json")


def parse_reasons(value: Any) -> list[Any]:
    """Stored reasons (a JSON list, a list, or plain text) as a list."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, list):
        return value
    if hasattr(value, "tolist"):
        return list(value.tolist())
    text = str(value)
    if text.startswith("["):
        try:
            return list(json.loads(text))
        except json.JSONDecodeError:
            pass
    return [part.strip() for part in text.split(";") if part.strip()]


@router.get("/status", response_model=schemas.Status)
def status(request: Request) -> dict[str, Any]:
    """The workspace, the last run (tables, row counts), input sizes and the per-area run log."""
    base = {"workspace": str(request.app.state.workspace), "currency": request.app.state.currency}
    try:
        snap = request.app.state.reader.current()
    except NoResults:
        return {**base, "run": None}
    m = snap.manifest
    inputs = snap.table("inputs")
    return {
        **base,
        "currency": m.get("currency", base["currency"]),
        "run": {
            "run_id": m["run_id"],
            "at": m["at"],
            "definitions_hash": m["definitions_hash"],
            "seconds": m.get("seconds"),
            "tables": {name: len(frame) for name, frame in snap.tables.items()},
        },
        "inputs": dict(zip(inputs["table"], inputs["rows"].astype(int), strict=False)) if len(inputs) else {},
        "log": _rows(snap.table("run_log")),
    }


@router.get("/scorecard", response_model=schemas.Scorecard)
async def scorecard(snap: Snap) -> Response:
    """The agreed KPIs with intervals, period over period, each with its definition and source."""
    m = snap.manifest

    def build() -> str:
        head = dumps({"run_id": m["run_id"], "at": m["at"], "currency": m.get("currency", "")})
        return f'{head[:-1]}, "kpis": {rows_json(snap.table("scorecard"))}}}'

    return json_response(snap.memo("scorecard", build))


@router.get("/funnel", response_model=schemas.Funnel)
def funnel(snap: Snap, limit: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 100) -> dict[str, Any]:
    """Stage conversion and velocity, SLA compliance, and the first `limit` breaches and stuck deals."""
    breaches, stuck = snap.table("sla_breaches"), snap.table("stuck_pipeline")
    return {
        "funnel": _rows(snap.table("funnel")),
        "funnel_breakdown": _rows(snap.table("funnel_breakdown")),
        "sla": _rows(snap.table("sla")),
        "speed_to_lead": _rows(snap.table("speed_to_lead")),
        "sla_breaches_total": len(breaches),
        "sla_breaches": _rows(breaches, limit),
        "stuck_pipeline_total": len(stuck),
        "stuck_pipeline": _rows(stuck, limit),
    }


@router.get("/attribution", response_model=schemas.Attribution)
def attribution(
    snap: Snap,
    model: Annotated[
        schemas.AttributionModelName | None, Query(description="one model; all when absent")
    ] = None,
    by: Annotated[schemas.AttributionBy | None, Query(description="one grouping; all when absent")] = None,
) -> dict[str, Any]:
    """Credit per key under each attribution model, with intervals; sourced vs influenced."""
    table = snap.table("attribution")
    rows = table
    if model is not None and "model" in rows:
        rows = rows[rows["model"] == model.value]
    if by is not None and "by" in rows:
        rows = rows[rows["by"] == by.value]
    return {
        "models": sorted(table["model"].dropna().unique().tolist()) if "model" in table else [],
        "by": sorted(table["by"].dropna().unique().tolist()) if "by" in table else [],
        "rows": _rows(rows),
        "sourced": _rows(snap.table("attribution_sourced")),
    }


@router.get("/contribution", response_model=schemas.Contribution)
def contribution(snap: Snap) -> dict[str, Any]:
    """Incremental revenue by marketing, channel, SDR and AE work, with intervals, strategies and assumptions."""
    from fairshare.contribution.triangulate import strategies_of

    rows = _rows(snap.table("contribution"))
    for r in rows:
        r["strategies"] = strategies_of(r.get("strategies"))
    return {
        "rows": rows,
        "reconciliation": _rows(snap.table("contribution_reconciliation")),
        "experiment": _rows(snap.table("experiment")),
    }


@router.get("/leads", response_model=schemas.LeadPage)
async def leads(
    snap: Snap,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    sort: schemas.LeadSort = schemas.LeadSort.value,
) -> Response:
    """The lead queue, best first by `sort` (descending), one page at a time."""
    rows = snap.memo(
        "leads:rows", lambda: row_texts(snap.table("leads").drop(columns=["reasons"], errors="ignore"))
    )
    page = ",".join(rows[i] for i in snap.order("leads", sort.value)[offset : offset + limit])
    head = dumps({"total": len(rows), "limit": limit, "offset": offset, "sort": sort.value})
    return json_response(f'{head[:-1]}, "items": [{page}]}}')


@router.get(
    "/leads/{lead_id}", response_model=schemas.LeadDetail, responses={404: {"description": "no such lead"}}
)
def lead(snap: Snap, lead_id: Annotated[str, Path(min_length=1, max_length=200)]) -> dict[str, Any]:
    """One scored lead with its top reasons in plain words."""
    position = snap.index("leads", "lead_id").get(lead_id)
    if position is None:
        raise HTTPException(404, detail=f"no scored lead {lead_id!r}")
    row = _rows(snap.table("leads").iloc[[position]])[0]
    row["reasons"] = parse_reasons(snap.table("leads")["reasons"].iloc[position]) if "reasons" in row else []
    return row


@router.get("/reps", response_model=schemas.Reps)
def reps(snap: Snap) -> dict[str, Any]:
    """Rep activity and closing ability net of lead quality, with intervals."""
    return {"rows": _rows(snap.table("reps"))}


@router.get("/notes", response_model=schemas.Notes)
def notes(snap: Snap) -> dict[str, Any]:
    """Note themes with example notes (signed-in users only, like every /api route), deal signals, rep factors."""
    return {"themes": _rows(snap.table("note_themes")), "signals": _rows(snap.table("note_signals")),
            "rep_factors": _rows(snap.table("rep_factors"))}  # fmt: skip


@router.get("/queue", response_model=schemas.Queue)
def queue(
    snap: Snap,
    rep: Annotated[
        str | None, Query(max_length=200, description="one rep's queue; every rep when absent")
    ] = None,
    limit: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    """Each rep's next-best open leads by expected $ per hour of work (first `limit` per rep)."""
    table = snap.table("queue")
    if rep is not None and "rep_id" in table:
        table = table[table["rep_id"] == rep]
    if "rank" in table:
        table = table[table["rank"] <= limit]
    return {"rows": _rows(table)}


@router.get("/economics", response_model=schemas.Economics)
def economics(snap: Snap) -> dict[str, Any]:
    """Cost (spend + sales time), CAC and ROI by channel/campaign/source; prospecting economics."""
    return {"economics": _rows(snap.table("economics")), "prospecting": _rows(snap.table("prospecting"))}


@router.get("/forecast", response_model=schemas.Forecast)
def forecast(snap: Snap) -> dict[str, Any]:
    """Bookings forecast this period per rep and in total (P10/P50/P90) next to rep commits."""
    return {"rows": _rows(snap.table("forecast"))}


@router.get("/validation", response_model=schemas.Validation)
def validation(snap: Snap) -> dict[str, Any]:
    """How we know: cross-validation and simulator-truth checks per model."""
    return {"rows": _rows(snap.table("validation"))}
