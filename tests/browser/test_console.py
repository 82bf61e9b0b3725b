"""The operator console and the RRU page in headless Chromium, on a central with the real
broker: an alert raised through the real path (a gate box's passage that central holds)
appears live, is acknowledged and dispatched, and the unit sees and answers it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import GateKeys, Served, serve
from playwright.async_api import BrowserContext, expect

from contract import bus, topics
from contract.messages import PositionFix, Verdict, utc_now
from corridor.broker import Broker

TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
async def open_central(
    broker: Broker, tmp_path_factory: pytest.TempPathFactory, gate_keys: GateKeys
) -> AsyncIterator[Served]:
    """Central with no users: open mode, as the rehearsal runs it."""
    async with serve(broker, tmp_path_factory.mktemp("browser-open"), gate_keys) as served:
        yield served


async def _register(served: Served, plate: str) -> str:
    declaration = {"declaration_id": f"DEC-{plate}", "status": "cleared"}
    assert (await served.api.post("/api/v1/declarations", json=declaration)).status_code == 201
    movement = {
        "declaration_id": f"DEC-{plate}",
        "process": "export-container-ship",
        "plate": plate,
    }
    created = await served.api.post("/api/v1/movements", json=movement)
    assert created.status_code == 201, created.text
    return str(created.json()["iot_id"])


async def test_alert_appears_is_acknowledged_dispatched_and_answered_by_the_unit(
    open_central: Served, context: BrowserContext
) -> None:
    served = open_central
    await _register(served, "AB123CD")
    console = await context.new_page()
    await console.goto(served.url + "/")
    await expect(console.locator("#live-state")).to_have_text("live", timeout=TIMEOUT_MS)
    await expect(console.locator("#open-mode")).to_be_visible()

    # a truck at the wrong gate: central holds it and raises an alert (the real path)
    async with served.gate("ct-marisabella") as gate:
        await gate.passage("AB123CD")
        assert (await gate.next_decision()).verdict == Verdict.HOLD
    alert = console.locator("#alert-queue li.alert", has_text="AB123CD")
    await expect(alert).to_be_visible(timeout=TIMEOUT_MS)
    await expect(alert.locator(".status")).to_have_text("open")
    await alert.get_by_role("button", name="Acknowledge").click()
    await expect(alert.locator(".status")).to_have_text("acknowledged", timeout=TIMEOUT_MS)

    # half-way through a note when the next alert arrives: the queue redraws, the note
    # keeps its text and the focus (the operator types on)
    note = alert.locator("input.note")
    await note.fill("calling the haulier")
    await _register(served, "EF456GH")
    async with served.gate("ct-marisabella") as gate:
        await gate.passage("EF456GH")
        assert (await gate.next_decision()).verdict == Verdict.HOLD
    other = console.locator("#alert-queue li.alert", has_text="EF456GH")
    await expect(other).to_be_visible(timeout=TIMEOUT_MS)
    await expect(note).to_have_value("calling the haulier")
    assert await console.evaluate("document.activeElement.value") == "calling the haulier"

    # the alert opened an incident for the movement: dispatch the nearest unit (rru-a)
    await console.locator("#tabs button[data-tab=incidents]").click()
    incident = console.locator("#incident-list li.incident", has_text="AB123CD")
    await incident.click()
    detail = console.locator("#incident-detail")
    await expect(detail.locator(".candidates li").first).to_contain_text("rru-a")
    await detail.get_by_role("button", name="Dispatch nearest").click()
    await expect(incident.locator(".status")).to_have_text("dispatched", timeout=TIMEOUT_MS)
    await expect(detail).to_contain_text("dispatched by anonymous", timeout=TIMEOUT_MS)

    # the unit's page, on a phone-sized screen
    rru = await context.new_page()
    await rru.set_viewport_size({"width": 400, "height": 800})
    await rru.goto(served.url + "/rru?unit=rru-a")
    job = rru.locator("#rru-incidents li.incident", has_text="AB123CD")
    await expect(job).to_be_visible(timeout=TIMEOUT_MS)
    await expect(job.locator(".clock")).to_contain_text("left")
    await job.get_by_role("button", name="Acknowledge").click()
    await expect(job.locator(".status")).to_have_text("acknowledged", timeout=TIMEOUT_MS)
    await job.get_by_role("button", name="On scene").click()
    await expect(job.locator(".status")).to_have_text("on_scene", timeout=TIMEOUT_MS)
    await job.locator("textarea").fill("plate read at the wrong gate; driver redirected")
    await job.get_by_role("button", name="Resolve").click()
    await expect(job.locator(".status")).to_have_text("resolved", timeout=TIMEOUT_MS)

    # the console saw each step live
    await expect(incident.locator(".status")).to_have_text("resolved", timeout=TIMEOUT_MS)
    await expect(console.locator("svg .marker.rrus[data-id=rru-a]")).to_be_visible()


async def test_the_map_shows_units_from_their_fixes_and_the_site(
    open_central: Served, context: BrowserContext
) -> None:
    served = open_central
    page = await context.new_page()
    await page.goto(served.url + "/")
    await expect(page.locator("#live-state")).to_have_text("live", timeout=TIMEOUT_MS)
    assert await page.locator("svg .layer-sites path, svg .layer-sites polyline").count() > 0
    telematics = served.broker.settings("telematics", client_id="browser-telematics")
    # A second apart: times travel to the millisecond, and a fix no later than the last
    # one is a repeat that the track refuses (two made in one loop can share a ms).
    start = utc_now() - timedelta(seconds=3)
    async with bus.client(telematics) as client:
        for i, lat in enumerate((41.130, 41.131, 41.132)):
            at = start + timedelta(seconds=i)
            fix = PositionFix(device_id="trk-42", fixed_at=at, lat=lat, lon=16.861)
            await client.publish(topics.unit_positions("trk-42"), fix.to_json(), qos=1)
    marker = page.locator("svg .marker.units[data-id=trk-42]")
    await expect(marker).to_be_attached(timeout=TIMEOUT_MS)
    await expect(marker).to_have_attribute("data-lonlat", "[16.861,41.132]", timeout=TIMEOUT_MS)
    await page.locator("#tabs button[data-tab=units]").click()
    await page.locator("#unit-list li", has_text="trk-42").click()
    await expect(page.locator("#unit-detail")).to_contain_text("3 recent fixes")


async def test_gate_override_from_the_console_reaches_the_gate_box(
    open_central: Served, context: BrowserContext
) -> None:
    served = open_central
    page = await context.new_page()
    await page.goto(served.url + "/")
    await expect(page.locator("#live-state")).to_have_text("live", timeout=TIMEOUT_MS)
    async with served.gate("ct-vittoria") as gate:
        passage = await gate.passage("QQ777QQ")  # unknown: held
        assert (await gate.next_decision()).verdict == Verdict.HOLD
        await page.locator("#tabs button[data-tab=gates]").click()
        await page.locator("#gate-list li[data-gate=ct-vittoria]").click()
        form = page.locator("#override-form")
        await expect(page.locator("#gate-detail")).to_contain_text("QQ777QQ", timeout=TIMEOUT_MS)
        await form.get_by_role("button", name="Send override").click()
        await expect(page.locator("#error")).to_contain_text("reason is required")
        reason = form.locator("#override-reason")
        await reason.fill("customs officer checked the papers at the gate")
        # A live update while the operator types (the next truck in the lane, held):
        # the passages redraw, the half-written reason keeps its text and the focus.
        later = await gate.passage("QQ888QQ")
        assert (await gate.next_decision()).verdict == Verdict.HOLD
        await expect(page.locator("#gate-detail")).to_contain_text("QQ888QQ", timeout=TIMEOUT_MS)
        await expect(reason).to_have_value("customs officer checked the papers at the gate")
        assert await page.evaluate("document.activeElement.id") == "override-reason"
        await form.get_by_role("button", name="Send override").click()
        released = await gate.next_decision()
        # The lane's pending passage is the latest one: the truck at the barrier now.
        assert (released.verdict, released.passage_id) == (Verdict.RELEASE, later.passage_id)
        assert passage.passage_id != later.passage_id
    await expect(page.locator("#notice")).to_contain_text("override release sent")


async def test_customs_status_look_up(open_central: Served, context: BrowserContext) -> None:
    iot_id = await _register(open_central, "LK555UP")
    page = await context.new_page()
    await page.goto(open_central.url + "/")
    await page.locator("#tabs button[data-tab=lookup]").click()
    await page.locator("#lookup-q").fill("lk-555 up")
    await page.get_by_role("button", name="Look up").click()
    row = page.locator("#lookup-result tr", has_text=iot_id)
    await expect(row.locator(".customs-status")).to_have_text("cleared", timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
async def closed_central(
    broker: Broker, tmp_path_factory: pytest.TempPathFactory, gate_keys: GateKeys
) -> AsyncIterator[Served]:
    """Central with users: the console and the RRU page ask for a login."""
    tmp: Path = tmp_path_factory.mktemp("browser-closed")
    async with serve(broker, tmp, gate_keys) as served:
        from central.auth.roles import Role
        from central.auth.service import add_user

        async with served.central.sessions.begin() as session:
            await add_user(session, "olga", Role.OPERATOR, password="operator-password")
            await add_user(session, "crew-b", Role.RRU, unit_id="rru-b", password="crew-password")
        yield served


async def test_logins_and_an_rru_sees_only_its_own_unit(
    closed_central: Served, context: BrowserContext
) -> None:
    served = closed_central
    page = await context.new_page()
    await page.goto(served.url + "/")
    await expect(page.locator("#login")).to_be_visible(timeout=TIMEOUT_MS)
    await page.locator("#login-user").fill("olga")
    await page.locator("#login-password").fill("wrong password")
    await page.locator("#login-submit").click()
    await expect(page.locator("#login-error")).to_contain_text("wrong password")
    await page.locator("#login-password").fill("operator-password")
    await page.locator("#login-submit").click()
    await expect(page.locator("#who")).to_have_text("olga (operator)", timeout=TIMEOUT_MS)
    await expect(page.locator("#live-state")).to_have_text("live", timeout=TIMEOUT_MS)
    await expect(page.locator("#open-mode")).to_be_hidden()

    rru = await context.new_page()
    await rru.goto(served.url + "/rru?unit=rru-a")  # asks for rru-a; its user belongs to rru-b
    await rru.locator("#login-user").fill("crew-b")
    await rru.locator("#login-password").fill("crew-password")
    await rru.locator("#login-submit").click()
    await expect(rru.locator("#unit-name")).to_have_text("Unit B (rru-b)", timeout=TIMEOUT_MS)
    await expect(rru.locator("#choose-unit")).to_be_hidden()
    await expect(rru.locator("#rru-incidents")).to_contain_text("No incidents for this unit.")


async def test_a_list_fetched_before_a_live_event_does_not_erase_it(
    open_central: Served, context: BrowserContext
) -> None:
    """The console reloads its lists when its live stream connects; the server may answer
    that reload before an incident opens and the answer arrive after the incident's live
    event. The older list must not erase the newer incident."""
    import asyncio

    from playwright.async_api import Route

    served = open_central
    console = await context.new_page()
    release, answered = asyncio.Event(), asyncio.Event()
    calls = 0

    async def late_answer(route: Route) -> None:
        nonlocal calls
        calls += 1
        if calls != 2:  # the first load (before the stream) goes through as it is
            await route.continue_()
            return
        stale = await route.fetch()  # the list as it is now: without the new incident
        await release.wait()
        await route.fulfill(response=stale)
        answered.set()

    await console.route("**/api/v1/incidents?limit=300", late_answer)
    await console.goto(served.url + "/")
    await expect(console.locator("#live-state")).to_have_text("live", timeout=TIMEOUT_MS)
    await _register(served, "LT789AB")
    async with served.gate("ct-marisabella") as gate:
        await gate.passage("LT789AB")
        assert (await gate.next_decision()).verdict == Verdict.HOLD
    await console.locator("#tabs button[data-tab=incidents]").click()
    incident = console.locator("#incident-list li.incident", has_text="LT789AB")
    await expect(incident).to_be_visible(timeout=TIMEOUT_MS)  # from the live event
    release.set()
    await asyncio.wait_for(answered.wait(), 10)
    await console.evaluate("new Promise((resolve) => setTimeout(resolve, 300))")
    await expect(incident).to_be_visible()  # the stale list did not erase it
