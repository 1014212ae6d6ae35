"""Issue 2: the first dashboard page shows one live tile per patient, in a real browser."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.browser import chromium
from tests.support.stack import StackEnv
from tests.support.system import live_system

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


async def test_nurse_sees_one_live_tile_per_patient(
    stack: StackEnv, topic_prefix: str, database_url: str, tmp_path: Path
) -> None:
    kafka = stack.kafka(topic_prefix)
    async with live_system(stack, kafka, database_url, tmp_path, patients=3) as system, chromium() as browser:
        sim = asyncio.create_task(system.simulate("rehab_session", patients=3, duration_s=40))
        # bypass_csp lets Playwright evaluate its predicates; the app's own scripts obey the CSP either way.
        page = await (await browser.new_context(bypass_csp=True)).new_page()
        await page.goto(system.base_url + "/")
        await page.fill("#username", "nurse1")
        await page.fill("#password", "rehab-demo")
        await page.click("button[type=submit]")
        await page.wait_for_url("**/wall.html")
        await page.wait_for_function("document.querySelectorAll('.tile').length === 3")
        # Live: every tile shows a heart rate, and the tiles keep updating.
        await page.wait_for_function(
            "[...document.querySelectorAll('.tile .bpm')].every(e => /^\\d+$/.test(e.textContent))", timeout=30_000
        )
        before = await page.eval_on_selector_all(".tile", "ts => ts.map(t => t.dataset.updated)")
        await page.wait_for_function(
            "(before) => [...document.querySelectorAll('.tile')].every((t, i) => t.dataset.updated > before[i])",
            arg=before,
            timeout=15_000,
        )
        sim.cancel()
