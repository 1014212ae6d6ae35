"""The nurse's patient page: live heart rate on the band, RR tachogram, ECG strips, alerts with history,
entries, prescription versions and sessions."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Route

from tests.e2e.dashboard.conftest import Dashboard
from tests.e2e.dashboard.pages import WALL, axe_violations, context, screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240), pytest.mark.asyncio(loop_scope="package")]


async def test_a_nurse_reviews_a_patient_in_detail(dashboard: Dashboard, browser: Browser) -> None:
    d = dashboard
    page = await (await context(browser, viewport=WALL)).new_page()
    await sign_in(page, d.url, "nurse1", "/wall.html")
    await page.goto(d.url + "/patient.html?id=sim-003")
    await page.wait_for_function("/^\\d+$/.test(document.getElementById('live-hr').textContent)", timeout=30_000)
    await page.wait_for_selector("#hr-chart canvas")
    await page.wait_for_selector("#rr-chart canvas", timeout=15_000)
    # sim-003 wears a Polar H10: its ECG reaches the page (the sink stores frames within a second or two).
    for _ in range(20):
        if await page.locator("#ecg-chart canvas").count():
            break
        await page.click("#ecg-refresh")
        await page.wait_for_timeout(1000)
    assert await page.locator("#ecg-chart canvas").count() == 1
    versions = await page.eval_on_selector_all("#rx-body tr", "rows => rows.map(r => r.cells[0].textContent)")
    assert versions == ["2", "1"]
    assert "version 2 by Nurse Ada Okafor" in await page.inner_text("#rx-current")
    assert await page.locator("#sessions-body tr a[href^='/report.html?session=sim-003']").count() >= 1
    await screenshot(page, "patient-detail.png", full_page=True)
    assert await axe_violations(page) == []

    # sim-001's alert timeline: the ceiling alert, with its history on demand.
    await page.goto(d.url + "/patient.html?id=sim-001")
    first = page.locator("#alert-list li[data-tier] >> nth=0")
    await first.wait_for(timeout=60_000)
    assert "Above ceiling" in await first.inner_text()
    # Pinned by id: a live update may re-render and re-order the list while the history loads.
    alert_id = await first.get_attribute("data-alert-id")
    item = page.locator(f'#alert-list li[data-alert-id="{alert_id}"]')
    # An alert that reached the page live can be opened before the sink has stored it: the API answers 404 and the
    # page asks again. The first answer is made a 404 here so that path runs every time.
    refused: list[str] = []

    async def not_stored_yet(route: Route) -> None:
        if refused:
            await route.continue_()
            return
        refused.append(route.request.url)
        body = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": f"no alert {alert_id!r}"}
        await route.fulfill(status=404, json=body, headers={"content-type": "application/problem+json"})

    await page.route("**/api/v1/alerts/*", not_stored_yet)
    await item.locator("summary").click()
    await item.locator(".history table").wait_for(timeout=30_000)
    assert len(refused) == 1
    assert "raised" in await item.locator(".history").inner_text()
    await page.unroute("**/api/v1/alerts/*")
    assert await axe_violations(page) == []
    await page.context.close()
