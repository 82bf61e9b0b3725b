"""The HTTP API on SQLite and PostgreSQL: customs pushes status, movements bind identifiers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from central_support import Running

VALID_CONTAINER = "CSQU3054383"  # ISO 6346 example, check digit 3


def declaration(**changes: Any) -> dict[str, Any]:
    body = {"declaration_id": f"DEC-{uuid.uuid4().hex[:8]}", "status": "lodged", "channel": None}
    return body | changes


async def create_movement(http: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    dec = declaration(status="cleared")
    assert (await http.post("/api/v1/declarations", json=dec)).status_code == 201
    body = {
        "declaration_id": dec["declaration_id"],
        "process": "export-container-ship",
        "plate": "AB 123-CD",
        "containers": [VALID_CONTAINER],
        "seals": ["S-0001"],
    } | changes
    response = await http.post("/api/v1/movements", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_health(api: Running) -> None:
    response = await api.http.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "mqtt_connected": False, "database": "ok"}


async def test_declaration_lifecycle(api: Running) -> None:
    body = declaration(channel="yellow", scan_required=True)
    created = await api.http.post("/api/v1/declarations", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "lodged"
    again = await api.http.post("/api/v1/declarations", json=body)
    assert again.status_code == 409

    path = f"/api/v1/declarations/{body['declaration_id']}"
    updated = await api.http.put(
        f"{path}/status", json={"status": "cleared", "scan_validated": True}
    )
    assert updated.status_code == 200
    got = (await api.http.get(path)).json()
    assert (got["status"], got["channel"], got["scan_required"], got["scan_validated"]) == (
        "cleared",
        "yellow",
        True,
        True,
    )
    cleared_channel = await api.http.put(f"{path}/status", json={"channel": None})
    assert cleared_channel.json()["channel"] is None
    assert (await api.http.get("/api/v1/declarations/NOPE")).status_code == 404


async def test_bad_bodies_get_422_and_change_nothing(api: Running) -> None:
    body = declaration()
    bad = await api.http.post("/api/v1/declarations", json=body | {"status": "maybe"})
    assert bad.status_code == 422
    assert "status" in bad.text
    extra = await api.http.post("/api/v1/declarations", json=body | {"colour": "blue"})
    assert extra.status_code == 422
    assert (await api.http.get(f"/api/v1/declarations/{body['declaration_id']}")).status_code == 404
    not_json = await api.http.post(
        "/api/v1/declarations", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422
    null_status = await api.http.put(
        f"/api/v1/declarations/{body['declaration_id']}/status", json={"status": None}
    )
    assert null_status.status_code == 422
    stats = (await api.http.get("/api/v1/ingest/stats")).json()
    assert stats["api_rejected"] == 4


async def test_movement_binds_identifiers_and_shows_its_path(api: Running) -> None:
    movement = await create_movement(api.http)
    uuid.UUID(movement["iot_id"], version=4)
    assert movement["position"] == -1
    assert movement["expected_next_nodes"] == ["vittoria"]
    assert movement["state"] == "active"
    assert movement["diverted_to"] is None
    got = await api.http.get(f"/api/v1/movements/{movement['iot_id']}")
    assert got.json() == movement


async def test_movement_with_given_iot_id(api: Running) -> None:
    iot_id = str(uuid.uuid4())
    movement = await create_movement(api.http, iot_id=iot_id)
    assert movement["iot_id"] == iot_id
    dec = movement["declaration_id"]
    again = await api.http.post(
        "/api/v1/movements",
        json={
            "iot_id": iot_id,
            "declaration_id": dec,
            "process": "export-container-ship",
            "plate": "X1",
        },
    )
    assert again.status_code == 409


async def test_movement_validation(api: Running) -> None:
    dec = declaration()
    await api.http.post("/api/v1/declarations", json=dec)
    base = {"declaration_id": dec["declaration_id"], "process": "export-container-ship"}
    cases = {
        "check digit": base | {"containers": ["CSQU3054384"]},
        "at least one of plate": base,
        "has no mission path": base | {"process": "smuggling", "plate": "AB1"},
        "does not exist": base | {"declaration_id": "NOPE", "plate": "AB1"},
        "uuid": base | {"plate": "AB1", "iot_id": "6f1c2b1e-3a7d-1c55-9b1a-0d2e8f4a7c11"},
    }
    for expected, body in cases.items():
        response = await api.http.post("/api/v1/movements", json=body)
        assert response.status_code == 422, (expected, response.text)
        assert expected in response.text.replace("UUID version 4", "uuid"), response.text


async def test_permits_patch_merges(api: Running) -> None:
    movement = await create_movement(api.http, permits={"ferry_ticket": True})
    path = f"/api/v1/movements/{movement['iot_id']}/permits"
    patched = await api.http.patch(path, json={"access_permission": True})
    assert patched.status_code == 200
    assert patched.json()["permits"] == {"ferry_ticket": True, "access_permission": True}
    bad = await api.http.patch(path, json={"access_permission": "soon"})
    assert bad.status_code == 422
    missing = await api.http.patch(f"/api/v1/movements/{uuid.uuid4()}/permits", json={"a": True})
    assert missing.status_code == 404


async def test_site_is_synced(api: Running) -> None:
    paths = (await api.http.get("/api/v1/mission-paths")).json()
    assert [p["process"] for p in paths] == ["export-container-ship"]
    steps = paths[0]["steps"]
    assert steps[1]["divert_to"] == "marisabella-parking"
    assert steps[2]["nodes"] == ["san-vito-ac1", "san-vito-ac3"]
    gates = (await api.http.get("/api/v1/gates")).json()
    assert {g["gate_id"]: g["node_id"] for g in gates}["ct-marisabella"] == "marisabella"
    assert all(g["online"] is None for g in gates)


async def test_empty_lists_and_ledger(api: Running) -> None:
    for path in ("passages", "decisions", "alerts"):
        response = await api.http.get(f"/api/v1/{path}", params={"limit": 5})
        assert response.status_code == 200 and response.json() == []
    assert (await api.http.get("/api/v1/decisions", params={"limit": 0})).status_code == 422
    verify = (await api.http.get("/api/v1/ledger/verify")).json()
    assert verify == {"ok": True, "entries": 0, "first_broken_seq": None, "reason": None}
