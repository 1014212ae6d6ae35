"""The wall's live feed survives dropped connections: it resumes from its cursor (missing nothing), and after an
outage longer than the server's replay buffer it takes the `gap`, the fresh snapshot, and reloads its history.
While it is offline the wall says so."""

from __future__ import annotations

import json
import time

import pytest
from playwright.async_api import Browser, WebSocketRoute

from tests.e2e.dashboard.conftest import LIVE, Dashboard
from tests.e2e.dashboard.pages import WALL, context, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240), pytest.mark.asyncio(loop_scope="package")]


class Relay:
    """Sits between the page and the real live endpoint: forwards both ways, records, and can cut the line."""

    def __init__(self) -> None:
        self.client: list[dict[str, object]] = []
        self.server: list[dict[str, object]] = []
        self.links: list[tuple[WebSocketRoute, WebSocketRoute]] = []
        self.refuse_until = 0.0

    async def handle(self, page_side: WebSocketRoute) -> None:
        if time.monotonic() < self.refuse_until:
            await page_side.close(code=1012, reason="test: server restarting")
            return
        server_side = page_side.connect_to_server()

        def up(message: str | bytes) -> None:
            self.client.append(json.loads(message))
            server_side.send(message)

        def down(message: str | bytes) -> None:
            frame = json.loads(message)
            self.server.append({"type": frame["type"], "events": len(frame.get("events", []))})
            page_side.send(message)

        page_side.on_message(up)
        server_side.on_message(down)
        self.links.append((page_side, server_side))

    async def cut(self) -> None:
        page_side, server_side = self.links[-1]
        await server_side.close()
        await page_side.close(code=4008, reason="test: dropped")

    def types(self) -> list[object]:
        return [f["type"] for f in self.server]

    def subscribes(self) -> list[dict[str, object]]:
        return [m for m in self.client if m.get("type") == "subscribe"]


async def test_the_wall_resumes_after_a_drop_and_reloads_after_a_gap(dashboard: Dashboard, browser: Browser) -> None:
    relay = Relay()
    page = await (await context(browser, viewport=WALL)).new_page()
    await page.route_web_socket("**/api/v1/live", relay.handle)
    await sign_in(page, dashboard.url, "nurse1", "/wall.html")
    await page.wait_for_function(f"document.querySelectorAll('.tile').length >= {LIVE}", timeout=60_000)
    await page.wait_for_function("Number(document.body.dataset.historyLoads || 0) >= 45", timeout=60_000)
    assert relay.types()[0] == "snapshot" and "resume" not in relay.subscribes()[0]

    # A short drop: the page comes back with the cursor of its last frame and gets exactly what it missed.
    await relay.cut()
    await page.wait_for_function("document.body.dataset.live === 'live'", timeout=15_000)
    assert relay.subscribes()[-1].get("resume"), relay.subscribes()[-1]
    assert relay.types().count("resume") == 1 and relay.types().count("snapshot") == 1, relay.types()
    assert await page.get_attribute("body", "data-live-gaps") is None
    loads = int(await page.get_attribute("body", "data-history-loads") or 0)

    # A long outage (longer than the server's replay buffer): the wall shows it is not live, then the server
    # answers the stale cursor with a gap and a fresh snapshot, and the wall reloads what it draws over REST.
    relay.refuse_until = time.monotonic() + 7
    await relay.cut()
    await page.wait_for_selector("#offline-banner:not([hidden])", timeout=10_000)
    assert "NOT live" in await page.inner_text("#offline-banner")
    await page.wait_for_function("document.body.dataset.liveGaps === '1'", timeout=30_000)
    await page.wait_for_function("document.body.dataset.live === 'live'", timeout=10_000)
    types = relay.types()
    assert types[types.index("gap") + 1] == "snapshot", types
    await page.wait_for_function(f"Number(document.body.dataset.historyLoads) >= {loads + 45}", timeout=60_000)
    await page.wait_for_selector("#offline-banner", state="hidden", timeout=5_000)
    before = await page.get_attribute('.tile[data-patient="sim-004"]', "data-updated")
    await page.wait_for_function(
        "(b) => Number(document.querySelector('.tile[data-patient=\"sim-004\"]').dataset.updated) > Number(b)",
        arg=before,
        timeout=10_000,
    )
    await page.context.close()
