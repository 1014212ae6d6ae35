"""The patient's own view on a phone: their heart rate and the stream's cue, entries that reach the nurse, and no
one else's data (the API answers 404 and the page says so)."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Browser

from tests.e2e.dashboard.conftest import Dashboard
from tests.e2e.dashboard.pages import PHONE, axe_violations, context, screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240), pytest.mark.asyncio(loop_scope="package")]


async def test_a_patient_sees_their_own_heart_rate_and_cue_and_nothing_else(
    dashboard: Dashboard, browser: Browser
) -> None:
    d = dashboard
    page = await (await context(browser, viewport=PHONE, is_mobile=True, has_touch=True)).new_page()
    received: list[dict[str, object]] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: received.append(json.loads(p))))
    await sign_in(page, d.url, "patient1", "/me.html")

    # sim-001 exercises above its 130-bpm ceiling: the stream cues "ease off", and so does the page.
    await page.wait_for_selector('#cue[data-cue="ease_off"]', timeout=60_000)
    assert await page.inner_text("#cue-text") == "Ease off"
    assert d.observed.latest("sim-001")[0].cue == "ease_off"
    await page.wait_for_function("/^\\d+$/.test(document.getElementById('hr').textContent)")
    shown = int(await page.inner_text("#hr"))
    recent = [f.hr_bpm for f in d.observed.latest("sim-001", 10) if f.hr_bpm is not None]
    assert min(recent) - 3 <= shown <= max(recent) + 3, (shown, recent)
    assert await page.get_attribute("body", "data-zone") == "5"
    assert (await page.inner_text("#phase")) == "Exercise"

    # Only their own data ever reached the browser.
    events = [e for f in received for e in f.get("events", [])]  # type: ignore[attr-defined]
    assert events and {e["data"]["patient_id"] for e in events} == {"sim-001"}
    html = await page.content()
    assert "sim-002" not in html and "Bruno" not in html

    # One-handed: the two controls sit in the bottom third, at least 48 px tall.
    for selector in ("#open-rpe", "#open-symptoms"):
        box = await page.locator(selector).bounding_box()
        assert box and box["height"] >= 48 and box["y"] >= PHONE["height"] * 2 / 3, (selector, box)
    await screenshot(page, "patient-view.png")
    assert await axe_violations(page) == []

    await page.click("#open-rpe")
    for box in [await b.bounding_box() for b in await page.locator("#borg button").all()]:
        assert box and box["height"] >= 48
    await page.click('#borg button[data-rpe="13"]')
    await page.wait_for_function("document.getElementById('entry-status').textContent.includes('Saved')")
    await page.click("#open-symptoms")
    await page.check("#sym-dizziness")
    await page.click("#symptom-form button[value=send]")
    await page.wait_for_function("document.getElementById('entry-status').textContent.includes('care team')")
    rpe = (await d.api("GET", "/api/v1/patients/sim-001/rpe", "nurse1")).json()
    symptoms = (await d.api("GET", "/api/v1/patients/sim-001/symptoms", "nurse1")).json()
    assert rpe[0]["rpe"] == 13 and rpe[0]["session_id"] == d.observed.latest("sim-001")[0].session_id
    assert symptoms[0]["symptoms"] == ["dizziness"]

    # Another patient's page: the API says 404 and the page says so, showing nothing of them.
    async with page.expect_response("**/api/v1/patients/sim-002") as answer:
        await page.goto(d.url + "/patient.html?id=sim-002")
    assert (await answer.value).status == 404
    await page.wait_for_selector("#page-error:not([hidden])")
    assert "not found, or not visible to you" in await page.inner_text("#page-error")
    assert "Bruno" not in await page.content()
    for path in ("/api/v1/patients/sim-002/features", "/api/v1/patients/sim-002/readings/hr", "/api/v1/alerts/x"):
        assert (await d.api("GET", path, "patient1")).status_code == 404, path
    await page.context.close()
