"""The nurse's patient page: live heart rate on the band, RR tachogram, ECG strips, alerts with history,
entries, prescription versions and sessions."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

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
    item = page.locator("#alert-list li[data-tier] >> nth=0")
    await item.wait_for(timeout=60_000)
    assert "Above ceiling" in await item.inner_text()
    await item.locator("summary").click()
    await item.locator(".history table").wait_for(timeout=10_000)
    assert "raised" in await item.locator(".history").inner_text()
    assert await axe_violations(page) == []
    await page.context.close()
