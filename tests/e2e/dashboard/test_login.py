"""Sign-in: each role lands where it works or is told why not; every page runs under the strict CSP."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.dashboard.conftest import Dashboard
from tests.e2e.dashboard.pages import axe_violations, context, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240), pytest.mark.asyncio(loop_scope="package")]


async def test_roles_land_on_their_page_or_get_a_clear_message(dashboard: Dashboard, browser: Browser) -> None:
    page = await (await context(browser)).new_page()
    await page.goto(dashboard.url + "/")
    assert await axe_violations(page) == []

    await page.fill("#username", "nurse1")
    await page.fill("#password", "not-the-password")
    await page.click("button[type=submit]")
    await page.wait_for_selector("#login-error:not([hidden])")
    assert "wrong username or password" in await page.inner_text("#login-error")

    for username, words in (("admin1", "clinic administrator"), ("hospital1", "hospital integration")):
        await page.fill("#username", username)
        await page.fill("#password", "rehab-demo")
        await page.click("button[type=submit]")
        await page.wait_for_function(
            "(w) => document.getElementById('login-error').textContent.includes(w)", arg=words, timeout=10_000
        )
        message = await page.inner_text("#login-error")
        assert "for nurses and patients" in message and page.url.endswith("/"), message
        assert await page.evaluate("() => sessionStorage.length") == 0, "a refused login keeps no tokens"

    await sign_in(page, dashboard.url, "charge1", "/wall.html")
    await page.click("#logout")
    await page.wait_for_url(dashboard.url + "/")
    await sign_in(page, dashboard.url, "patient2", "/me.html")
    # A patient who types the wall's address is sent back to their own view.
    await page.goto(dashboard.url + "/wall.html")
    await page.wait_for_url("**/me.html")
    await page.context.close()


async def test_every_page_runs_under_the_content_security_policy(dashboard: Dashboard, browser: Browser) -> None:
    """Without Playwright's CSP bypass: no inline script or style may be refused on any view."""
    ctx = await browser.new_context()
    page = await ctx.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: refused.append(str(e)))
    await page.goto(dashboard.url + "/")
    await page.fill("#username", "nurse1")
    await page.fill("#password", "rehab-demo")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/wall.html")
    await page.wait_for_selector(".tile .spark canvas", timeout=30_000)
    await page.goto(dashboard.url + "/patient.html?id=sim-003")
    await page.wait_for_selector("#hr-chart canvas", timeout=30_000)
    sessions = await dashboard.api("GET", "/api/v1/patients/sim-003/sessions", "nurse1")
    await page.goto(dashboard.url + f"/report.html?session={sessions.json()[0]['session_id']}")
    await page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    await page.click("#logout")
    await page.fill("#username", "patient3")
    await page.fill("#password", "rehab-demo")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/me.html")
    await expect(page.locator("#hr")).to_have_text(re.compile(r"^\d+$"), timeout=30_000)
    assert refused == []
    await ctx.close()
