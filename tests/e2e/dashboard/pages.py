"""Browser helpers for the dashboard suite: contexts, sign-in, axe-core, screenshots."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, BrowserContext, Page

from tests.support.browser import AXE, SCREENSHOTS

WALL = {"width": 1600, "height": 1000}
PHONE = {"width": 390, "height": 844}


async def context(browser: Browser, **kw: Any) -> BrowserContext:
    # bypass_csp lets Playwright evaluate its predicates and inject axe; the app's own scripts obey the CSP either way
    # (the CSP test below loads every page without it).
    return await browser.new_context(bypass_csp=True, **kw)


async def sign_in(page: Page, base_url: str, username: str, lands_on: str) -> None:
    await page.goto(base_url + "/")
    await page.fill("#username", username)
    await page.fill("#password", "rehab-demo")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"**{lands_on}")


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations of the page as it is now (WCAG 2.x A/AA rules and best practice)."""
    await page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = await page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:5]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)
