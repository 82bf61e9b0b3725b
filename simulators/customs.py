"""A customs-system feeder: pushes declarations, movements, status changes and permits
to central's HTTP API, as a customs system (WeBOC, ASYCUDA, a single window) or a
port community system would."""

from __future__ import annotations

from typing import Any

import httpx


class CustomsFeederError(Exception):
    """Central refused what the feeder pushed (the body says why)."""


class CustomsFeeder:
    def __init__(self, base_url: str, *, token: str | None = None, timeout_s: float = 10) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout_s)

    async def __aenter__(self) -> CustomsFeeder:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def _call(self, method: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._http.request(method, url, json=body)
        if response.status_code >= 400:
            raise CustomsFeederError(f"{method} {url} -> {response.status_code}: {response.text}")
        result: dict[str, Any] = response.json()
        return result

    async def declare(self, **declaration: Any) -> dict[str, Any]:
        return await self._call("POST", "/api/v1/declarations", declaration)

    async def set_status(self, declaration_id: str, **changes: Any) -> dict[str, Any]:
        return await self._call("PUT", f"/api/v1/declarations/{declaration_id}/status", changes)

    async def register_movement(self, **movement: Any) -> dict[str, Any]:
        return await self._call("POST", "/api/v1/movements", movement)

    async def set_permits(self, iot_id: str, permits: dict[str, bool]) -> dict[str, Any]:
        return await self._call("PATCH", f"/api/v1/movements/{iot_id}/permits", permits)

    async def get(self, url: str, **params: Any) -> Any:
        response = await self._http.get(url, params=params)
        response.raise_for_status()
        return response.json()
