"""Helpers for the monitoring centre's tests: a central in process (real database, the
real ingest pipeline and monitoring loop) whose monitoring clock the test moves."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from central_support import unsigned_passage

from central.auth.roles import Role
from central.auth.service import add_user, issue_token
from central.monitoring.clock import ManualClock
from central.service import Central
from contract import topics
from contract.messages import (
    Passage,
    PositionFix,
    SealReading,
    utc_now,
)
from corridor.broker import free_port

ROLES = [r.value for r in Role]


@dataclass
class Monitored:
    """A started central: `http` talks to its app; `clock` is the monitoring centre's."""

    central: Central
    http: httpx.AsyncClient
    clock: ManualClock
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def monitoring(self) -> Any:
        return self.central.monitoring

    def auth(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}

    async def call(
        self, method: str, url: str, who: str | None = None, json: Any = None, **kw: Any
    ) -> httpx.Response:
        return await self.http.request(method, url, json=json, headers=self.auth(who), **kw)

    async def ok(self, method: str, url: str, who: str | None = None, json: Any = None) -> Any:
        response = await self.call(method, url, who, json)
        assert response.status_code < 300, f"{method} {url}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    async def add_users(self, password: str | None = None) -> None:
        """One user per role (rru users belong to unit `rru-a`), each with a token."""
        async with self.central.sessions.begin() as session:
            for role in Role:
                name = f"{role.value}-1"
                unit = "rru-a" if role is Role.RRU else None
                await add_user(session, name, role, unit_id=unit, password=password)
                self.tokens[role.value], _ = await issue_token(session, name)
            await add_user(session, "rru-b-crew", Role.RRU, unit_id="rru-b")
            self.tokens["rru-b"], _ = await issue_token(session, "rru-b-crew")

    async def passage(
        self,
        gate_id: str,
        lane_id: str = "lane-1",
        *,
        closed_at: datetime | None = None,
        seals: list[SealReading] | None = None,
        **identifiers: str,
    ) -> Passage:
        """A passage through the real ingest pipeline, then one monitoring round."""
        passage = unsigned_passage(gate_id, lane_id, seals, closed_at=closed_at, **identifiers)
        await self.central.pipeline.handle(topics.gate_passages(gate_id), passage.to_json())
        await self.monitoring.step()
        return passage

    async def fix(self, device_id: str, lat: float, lon: float, at: datetime | None = None) -> None:
        """A tracker's fix as the monitoring client receives it from the broker."""
        fix = PositionFix(device_id=device_id, fixed_at=at or utc_now(), lat=lat, lon=lon)
        await self.monitoring.on_message(topics.unit_positions(device_id), fix.to_json())

    async def movement(self, plate: str, seals: list[str] | None = None) -> str:
        declaration = f"DEC-{uuid.uuid4().hex[:8]}"
        await self.ok("POST", "/api/v1/declarations", "admin" if self.tokens else None,
                      {"declaration_id": declaration, "status": "cleared"})  # fmt: skip
        body = {
            "declaration_id": declaration,
            "process": "export-container-ship",
            "plate": plate,
            "seals": seals or [],
        }
        created = await self.ok("POST", "/api/v1/movements", "admin" if self.tokens else None, body)
        return str(created["iot_id"])

    async def queue(self, who: str | None = None, **params: Any) -> list[dict[str, Any]]:
        response = await self.call("GET", "/api/v1/alerts/queue", who, params=params)
        assert response.status_code == 200, response.text
        return list(response.json())

    async def incidents(self, who: str | None = None) -> list[dict[str, Any]]:
        return list(await self.ok("GET", "/api/v1/incidents", who))


# --------------------------------------------------------------------------- real servers


class Server:
    """An ASGI app served by uvicorn on a free loopback port, in this event loop."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Server:
        self._task = asyncio.create_task(self._server.serve(), name=f"test-server-{self.port}")
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task


class WebhookReceiver:
    """A real HTTP endpoint that checks Corridor's webhook signature on every POST:
    401 when it does not verify, 503 for the first `fail_first` good ones, else 204."""

    def __init__(self, secrets: dict[str, str], fail_first: int = 0) -> None:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        self.secrets = secrets  # path -> secret
        self.fail_first = fail_first
        self.received: dict[str, list[dict[str, Any]]] = {path: [] for path in secrets}
        self.refused = 0

        async def hook(request: Request) -> Response:
            path = request.url.path
            body = await request.body()
            timestamp = request.headers.get("x-corridor-timestamp", "")
            mac = hmac.new(self.secrets[path].encode(), timestamp.encode() + b"." + body,
                           hashlib.sha256)  # fmt: skip
            offered = request.headers.get("x-corridor-signature", "")
            fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
            if not (fresh and hmac.compare_digest(offered, "sha256=" + mac.hexdigest())):
                self.refused += 1
                return Response(status_code=401)
            if self.fail_first > 0:
                self.fail_first -= 1
                return Response(status_code=503)
            self.received[path].append(
                {"event": request.headers.get("x-corridor-event"), "body": json.loads(body)}
            )
            return Response(status_code=204)

        self.app = Starlette(routes=[Route(p, hook, methods=["POST"]) for p in secrets])
