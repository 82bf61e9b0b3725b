"""Auth: each role allowed or denied on each route family; tokens (revoked, expired,
forged), console logins, open mode, RRU confinement, the `corridor users` command."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from central_support import run_cli
from fastapi import APIRouter
from monitoring_support import Monitored
from sqlalchemy import select

from central.app import create_app
from central.auth.guard import family_of, guard
from central.auth.roles import Role
from central.auth.service import add_user, issue_token
from central.auth.tables import UserRow, UserTokenRow
from contract.messages import utc_now

NOBODY = "3fa85f64-5717-4562-b3fc-2c963f66afa6"

OPERATOR, SUPERVISOR, RRU, ENGINEER, CUSTOMS, ADMIN = (r.value for r in Role)
TRAFFIC = {OPERATOR, SUPERVISOR, ENGINEER, CUSTOMS, ADMIN}
CUSTOMS_READ = {OPERATOR, SUPERVISOR, CUSTOMS, ADMIN}
DISPATCH = {OPERATOR, SUPERVISOR, ADMIN}
SYSTEM = {SUPERVISOR, ENGINEER, ADMIN}

# (route family, method, path, body, roles allowed). "legacy" is an api_tokens token.
MATRIX: list[tuple[str, str, str, Any, set[str]]] = [
    ("declarations", "GET", "/api/v1/declarations/DEC-X", None, CUSTOMS_READ),
    ("declarations", "POST", "/api/v1/declarations", {"declaration_id": "D-1", "status": "lodged"},
     {CUSTOMS, ADMIN}),
    ("declarations", "PUT", "/api/v1/declarations/DEC-X/status", {"status": "cleared"},
     {CUSTOMS, ADMIN}),
    ("movements", "GET", f"/api/v1/movements/{NOBODY}", None, CUSTOMS_READ),
    ("movements", "PATCH", f"/api/v1/movements/{NOBODY}/permits", {"p": True}, {CUSTOMS, ADMIN}),
    ("lookup", "GET", "/api/v1/lookup?q=AB123CD", None, CUSTOMS_READ),
    ("passages", "GET", "/api/v1/passages", None, TRAFFIC),
    ("decisions", "GET", "/api/v1/decisions", None, TRAFFIC),
    ("mission paths", "GET", "/api/v1/mission-paths", None, TRAFFIC),
    ("gates", "GET", "/api/v1/gates", None, TRAFFIC),
    ("gate override", "POST", "/api/v1/gates/ct-vittoria/lanes/lane-1/override",
     {"verdict": "release", "reason": "checking who may"}, DISPATCH),
    ("units in transit", "GET", "/api/v1/units", None, TRAFFIC),
    ("alerts", "GET", "/api/v1/alerts", None, {OPERATOR, SUPERVISOR, ENGINEER, ADMIN}),
    ("alerts", "GET", "/api/v1/alerts/queue", None, {OPERATOR, SUPERVISOR, ENGINEER, ADMIN}),
    ("alert actions", "POST", f"/api/v1/alerts/{NOBODY}/acknowledge", {}, DISPATCH),
    ("alert actions", "POST", f"/api/v1/alerts/{NOBODY}/escalate", {}, DISPATCH),
    ("incidents", "GET", "/api/v1/incidents", None, {OPERATOR, SUPERVISOR, RRU, CUSTOMS, ADMIN}),
    ("incident dispatch", "POST", f"/api/v1/incidents/{NOBODY}/dispatch", {}, DISPATCH),
    ("incident response", "POST", f"/api/v1/incidents/{NOBODY}/on-scene", {},
     {OPERATOR, SUPERVISOR, RRU, ADMIN}),
    ("response units", "GET", "/api/v1/rrus", None, {OPERATOR, SUPERVISOR, ENGINEER, ADMIN}),
    ("response units", "POST", "/api/v1/rrus",
     {"unit_id": "rru-new", "base_lat": 0, "base_lon": 0}, {SUPERVISOR, ADMIN}),
    ("response units", "POST", "/api/v1/rrus/rru-a/position", {"lat": 41.1, "lon": 16.8},
     {SUPERVISOR, RRU, ADMIN}),  # the rru user belongs to rru-a
    ("map", "GET", "/api/v1/sites", None, {OPERATOR, SUPERVISOR, RRU, ENGINEER, ADMIN}),
    ("ledger", "GET", "/api/v1/ledger/verify", None, SYSTEM),
    ("ingest", "GET", "/api/v1/ingest/stats", None, SYSTEM),
    ("notifications", "GET", "/api/v1/notifications", None, SYSTEM),
    ("users", "GET", "/api/v1/users", None, {ADMIN}),
    ("users", "POST", "/api/v1/users/nobody/tokens", {}, {ADMIN}),
]  # fmt: skip


async def test_each_role_on_each_route_family(closed: Monitored) -> None:
    problems = []
    for who in [*(r.value for r in Role), "legacy"]:
        role = CUSTOMS if who == "legacy" else who
        for family, method, path, body, allowed in MATRIX:
            status = (await closed.call(method, path, who, body)).status_code
            expected_ok = role in allowed
            if expected_ok and status in (401, 403):
                problems.append(f"{who} refused {status} on {family}: {method} {path}")
            if not expected_ok and status != 403:
                problems.append(f"{who} got {status}, not 403, on {family}: {method} {path}")
    assert problems == []


async def test_no_token_is_401_everywhere_but_health(closed: Monitored) -> None:
    for family, method, path, body, _ in MATRIX:
        response = await closed.call(method, path, None, body)
        assert response.status_code == 401, (family, path)
        assert response.headers["www-authenticate"] == "Bearer"
    assert (await closed.call("GET", "/api/v1/health")).status_code == 200
    assert (await closed.call("GET", "/")).status_code == 200  # the page; its data needs a token
    assert (await closed.call("GET", "/openapi.json")).status_code == 200  # documents it all


async def test_bad_tokens_are_refused(closed: Monitored) -> None:
    good = closed.tokens[ADMIN]
    token_id = good.split("_")[1]
    forged = f"ctk_{token_id}_{'x' * 43}"
    for token in (forged, "ctk_nope_nope", "not-a-token", good + "x"):
        response = await closed.http.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, token
    async with closed.central.sessions.begin() as session:
        old, _ = await issue_token(
            session, "admin-1", ttl=timedelta(hours=1), now=utc_now() - timedelta(hours=2)
        )
        (await session.get(UserTokenRow, token_id)).revoked_at = utc_now()  # type: ignore[union-attr]
    for token in (old, good):  # expired, revoked
        response = await closed.http.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401
    async with closed.central.sessions.begin() as session:
        (await session.get(UserRow, "operator-1")).active = False  # type: ignore[union-attr]
    assert (await closed.call("GET", "/api/v1/auth/me", OPERATOR)).status_code == 401


async def test_login_gives_a_session_token(closed: Monitored) -> None:
    refused = await closed.http.post(
        "/api/v1/auth/login", json={"username": "operator-1", "password": "wrong one"}
    )
    assert refused.status_code == 401
    unknown = await closed.http.post(
        "/api/v1/auth/login", json={"username": "nobody", "password": "correct horse battery"}
    )
    assert unknown.status_code == 401
    me = (
        await closed.http.post(
            "/api/v1/auth/login",
            json={"username": "operator-1", "password": "correct horse battery"},
        )
    ).json()
    assert (me["role"], me["open_mode"]) == (OPERATOR, False)
    whoami = await closed.http.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {me['token']}"}
    )
    assert whoami.json()["username"] == "operator-1"
    async with closed.central.sessions() as session:
        stored = await session.scalar(
            select(UserRow.password_hash).where(UserRow.username == "operator-1")
        )
    assert stored and "correct horse" not in stored and stored.startswith("scrypt$")


async def test_open_mode_until_the_first_user(monitored: Monitored) -> None:
    m = monitored
    me = await m.ok("GET", "/api/v1/auth/me")
    assert me["open_mode"] is True
    await m.ok(
        "POST", "/api/v1/declarations", json={"declaration_id": "D-OPEN", "status": "lodged"}
    )
    await m.ok("POST", "/api/v1/users", json={"username": "chief", "role": "admin"})
    assert (await m.call("GET", "/api/v1/declarations/D-OPEN")).status_code == 401
    assert (await m.call("GET", "/api/v1/auth/me")).status_code == 401


async def test_an_rru_sees_and_answers_only_its_own_incidents(closed: Monitored) -> None:
    m = closed
    await m.movement("AB123CD")
    await m.passage("ct-marisabella", plate="AB123CD")
    (incident,) = await m.incidents(OPERATOR)
    url = f"/api/v1/incidents/{incident['incident_id']}"
    await m.ok("POST", f"{url}/dispatch", OPERATOR, {"unit_id": "rru-a"})
    assert [i["incident_id"] for i in await m.incidents(RRU)] == [incident["incident_id"]]
    assert await m.incidents("rru-b") == []
    assert (await m.call("GET", url, "rru-b")).status_code == 403
    assert (await m.call("POST", f"{url}/acknowledge", "rru-b")).status_code == 403
    assert (await m.call("GET", f"{url}/evidence", "rru-b")).status_code == 403
    await m.ok("POST", f"{url}/acknowledge", RRU)
    assert (await m.call("POST", f"{url}/dispatch", RRU, {})).status_code == 403
    # its own unit: status and preferences, not its base; not another unit
    await m.ok("PATCH", "/api/v1/rrus/rru-a", RRU, {"channels": ["console", "email"]})
    assert (await m.call("PATCH", "/api/v1/rrus/rru-a", RRU, {"base_lat": 1})).status_code == 403
    assert (
        await m.call("PATCH", "/api/v1/rrus/rru-b", RRU, {"status": "off_duty"})
    ).status_code == 403
    assert (await m.call("POST", "/api/v1/rrus/rru-b/position", RRU,
                         {"lat": 1, "lon": 1})).status_code == 403  # fmt: skip


async def test_a_route_family_nobody_listed_is_admin_only(closed: Monitored) -> None:
    assert family_of("/api/v1/movements/x/transit") == "/movements"
    app = create_app(closed.central.settings)
    app.state.central = closed.central  # the running central (database, users)
    router = APIRouter(prefix="/frobs")

    @router.get("")
    async def frobs() -> list[str]:
        return []

    app.include_router(router, prefix="/api/v1", dependencies=guard(router))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://central"
    ) as http:
        for who, status in ((OPERATOR, 403), (SUPERVISOR, 403), (ADMIN, 200)):
            response = await http.get("/api/v1/frobs", headers=closed.auth(who))
            assert response.status_code == status, who


async def test_users_command_adds_a_user_whose_token_works(monitored: Monitored) -> None:
    url = monitored.central.settings.database_url
    added = await run_cli("users", "add", "duty-1", "--role", "operator", "--database-url", url)
    assert added.returncode == 0, added.stderr
    twice = await run_cli("users", "add", "duty-1", "--role", "operator", "--database-url", url)
    assert twice.returncode != 0 and "exists already" in twice.stderr
    issued = await run_cli("users", "token", "duty-1", "--database-url", url)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    me = await monitored.http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == OPERATOR
    assert (await monitored.call("GET", "/api/v1/auth/me")).status_code == 401  # closed now
    listed = await run_cli("users", "list", "--database-url", url)
    assert "duty-1\toperator" in listed.stdout


async def test_users_api_refuses_bad_users(closed: Monitored) -> None:
    for body, status in (
        ({"username": "x y", "role": "operator"}, 422),
        ({"username": "crew", "role": "rru"}, 422),  # an rru user needs its unit
        ({"username": "admin-1", "role": "admin"}, 409),
        ({"username": "weak", "role": "operator", "password": "short"}, 422),
        ({"username": "who", "role": "pilot"}, 422),
    ):
        response = await closed.call("POST", "/api/v1/users", ADMIN, body)
        assert response.status_code == status, body
    async with closed.central.sessions() as session:
        names = set((await session.scalars(select(UserRow.username))).all())
    assert not names & {"x y", "crew", "weak", "who"}


async def test_add_user_helper_refuses_a_bad_unit(monitored: Monitored) -> None:
    from central.auth.service import AuthError

    async with monitored.central.sessions() as session:
        with pytest.raises(AuthError):
            await add_user(session, "crew", Role.RRU, unit_id="bad unit")
