"""The OpenAPI document's paths and schemas are a public contract: compare with the snapshot.

After an intended change, regenerate: FAIRSHARE_UPDATE_SNAPSHOT=1 pytest tests/api/test_openapi.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "openapi_snapshot.json"


def _contract(client) -> dict:
    doc = client.get("/openapi.json").json()
    return {"paths": doc["paths"], "schemas": doc["components"]["schemas"]}


def test_openapi_matches_snapshot(client):
    current = _contract(client)
    if os.environ.get("FAIRSHARE_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert sorted(current["paths"]) == sorted(expected["paths"])
    assert current == expected


def test_openapi_lists_every_endpoint_with_bearer_auth(client):
    doc = client.get("/openapi.json").json()
    assert set(doc["paths"]) == {
        "/api/status", "/api/scorecard", "/api/funnel", "/api/attribution", "/api/contribution",
        "/api/leads", "/api/leads/{lead_id}", "/api/reps", "/api/economics", "/api/validation", "/api/forecast",
        "/api/queue", "/api/notes",
    }  # fmt: skip
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert all(op["get"]["security"] == [{"HTTPBearer": []}] for op in doc["paths"].values())
    assert client.get("/docs").status_code == 200


def test_every_endpoint_is_documented(client):
    doc = (Path(__file__).parents[2] / "docs" / "interfaces.md").read_text(encoding="utf-8")
    for path in client.get("/openapi.json").json()["paths"]:
        assert f"`GET {path}`" in doc, path


def test_attribution_model_enum_matches_the_attribution_package():
    from fairshare.api.schemas import ATTRIBUTION_MODELS
    from fairshare.attribution import MODEL_NAMES

    assert tuple(ATTRIBUTION_MODELS) == tuple(MODEL_NAMES)
