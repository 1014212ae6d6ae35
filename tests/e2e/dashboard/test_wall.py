"""Issue 7, the nurse wall: live tiles for 50 patients, a ceiling breach on screen and audible within 2 s of its
append to Kafka, snoozed, un-snoozed and acknowledged on one nurse's wall and shown on another's, and smooth
drawing."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from analytics.alerts.const import CEILING_ESCALATE_S
from tests.e2e.dashboard.conftest import LIVE, Dashboard
from tests.e2e.dashboard.pages import WALL, axe_violations, context, screenshot, sign_in
from tests.e2e.dashboard.sim import FAST_BREACH

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240), pytest.mark.asyncio(loop_scope="package")]

BREACH_PATIENT = "sim-051"
LATENCY_LIMIT_MS = 2000
ACTIONS_TAKE_S = 30  # snooze, cancel, acknowledge on two walls: a few seconds, far longer on a loaded machine

# Records, in the page, when each alert element first appears on a tile (the moment it is on screen, give or take
# the next paint), so that the test times what the nurse sees, not what the app says about itself.
WATCH_ALERTS = """
() => {
  window.__alertSeen = {};
  const seen = (node) => {
    if (!(node instanceof Element)) return;
    for (const li of [node, ...node.querySelectorAll('[data-alert-id]')]) {
      const id = li.dataset && li.dataset.alertId;
      if (id && !(id in window.__alertSeen)) window.__alertSeen[id] = Date.now();
    }
  };
  new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach(seen)))
    .observe(document.getElementById('tiles'), {childList: true, subtree: true});
}
"""

# What a wall holds about one alert, for a failure message.
DIAGNOSE = """
([patient, id]) => {
  const m = globalThis.cardiorehabWall.patients.get(patient);
  const li = document.querySelector(`li[data-alert-id="${id}"]`);
  return {held: m && m.alerts.get(id), li: li && {...li.dataset, text: li.textContent},
          live: document.body.dataset.live, stats: globalThis.cardiorehabWall.stats};
}
"""

# Frame intervals (requestAnimationFrame), long tasks (> 50 ms on the main thread) and the wall's own drawing time
# over `ms` milliseconds.
MEASURE = """
async (ms) => {
  const longTasks = [];
  const po = new PerformanceObserver((list) => { for (const e of list.getEntries()) longTasks.push(e.duration); });
  po.observe({type: 'longtask'});
  const s0 = {...globalThis.cardiorehabWall.stats};
  const frames = [];
  await new Promise((resolve) => {
    let last = performance.now();
    const end = last + ms;
    const step = (t) => { frames.push(t - last); last = t; if (t < end) requestAnimationFrame(step); else resolve(); };
    requestAnimationFrame(step);
  });
  po.disconnect();
  const s1 = globalThis.cardiorehabWall.stats;
  return {
    frames, longTasks, tiles: document.querySelectorAll('.tile').length,
    renderMs: s1.renderMs - s0.renderMs, renderFrames: s1.frames - s0.frames, events: s1.events - s0.events,
  };
}
"""


async def open_wall(browser: Browser, d: Dashboard, user: str) -> Page:
    page = await (await context(browser, viewport=WALL)).new_page()
    await sign_in(page, d.url, user, "/wall.html")
    await page.wait_for_function(f"document.querySelectorAll('.tile').length >= {LIVE}", timeout=60_000)
    return page


@pytest_asyncio.fixture(scope="module", loop_scope="package")
async def nurse_wall(dashboard: Dashboard, browser: Browser) -> AsyncIterator[Page]:
    page = await open_wall(browser, dashboard, "nurse1")
    yield page
    await page.context.close()


async def test_the_wall_shows_every_live_patient_updating(dashboard: Dashboard, nurse_wall: Page) -> None:
    page = nurse_wall
    await page.wait_for_function(
        "[...document.querySelectorAll('.tile .bpm')].filter(e => /^\\d+$/.test(e.textContent)).length >= 45",
        timeout=30_000,
    )
    before = dict(await page.eval_on_selector_all(".tile", "ts => ts.map(t => [t.dataset.patient, t.dataset.updated])"))
    await page.wait_for_function(
        """(before) => Object.entries(before).every(([p, u]) => {
             const t = document.querySelector(`.tile[data-patient="${p}"]`);
             return t && Number(t.dataset.updated) > Number(u || 0);
           })""",
        arg=before,
        timeout=20_000,
    )
    # sim-001's tile shows what the stream computed for it: a heart rate above its ceiling, in that zone's colour.
    await page.wait_for_function(
        """() => {
             const t = document.querySelector('.tile[data-patient="sim-001"]');
             return t && t.dataset.zone === '5' && t.querySelector('.zone-label').textContent === 'Above ceiling';
           }""",
        timeout=60_000,
    )
    latest = dashboard.observed.latest("sim-001", 5)
    assert all(f.zone == 5 for f in latest), [f.zone for f in latest]
    assert await page.locator(f'#idle-list a[href="/patient.html?id={BREACH_PATIENT}"]').count() == 1
    assert await axe_violations(page) == []


async def test_a_ceiling_breach_alarms_within_2_s_and_is_acknowledged_for_everyone(
    dashboard: Dashboard, browser: Browser, nurse_wall: Page
) -> None:
    d, page = dashboard, nurse_wall
    await page.click("#sound")  # the one user gesture browsers need before they play audio
    await page.wait_for_function("document.getElementById('sound').getAttribute('aria-pressed') === 'true'")
    await page.evaluate(WATCH_ALERTS)
    other = await open_wall(browser, d, "nurse2")  # a second nurse, watching the same clinic

    started = time.monotonic()
    d.start_fleet([BREACH_PATIENT], [FAST_BREACH], seed=51, start_ns=time.time_ns())
    raised = None
    while raised is None and time.monotonic() - started < 60:
        raised = d.observed.raised(BREACH_PATIENT, "above_ceiling")
        await asyncio.sleep(0.05)
    assert raised is not None, "the stream raised no ceiling alert"
    alert, kafka_ms = raised
    print(f"\nbreach started -> alert raised in Kafka: {time.monotonic() - started:.1f} s")
    assert alert.threshold == 130.0, "the nurse's prescription (ceiling 130 bpm) is in force"

    tile = f'.tile[data-patient="{BREACH_PATIENT}"]'
    item = f'{tile} li[data-alert-id="{alert.alert_id}"]'
    await page.wait_for_selector(item, timeout=5_000)
    seen_ms = await page.evaluate(f"() => window.__alertSeen[{alert.alert_id!r}]")
    await page.wait_for_function(f"document.querySelector('{item}').dataset.alarmedMs !== ''", timeout=5_000)
    sound_ms = int(await page.get_attribute(item, "data-alarmed-ms") or 0)
    sounds = int(await page.get_attribute("body", "data-alert-sound-count") or 0)
    latency_ms, sound_latency_ms = seen_ms - kafka_ms, sound_ms - kafka_ms
    print(
        f"\nLATENCY alert {alert.alert_id}: Kafka timestamp -> on the wall {latency_ms} ms, -> tone {sound_latency_ms} "
        f"ms; reading (event time) -> on the wall {seen_ms - alert.t_ns / 1e6:.0f} ms"
    )
    assert 0 <= latency_ms < LATENCY_LIMIT_MS, f"alert on screen {latency_ms} ms after its append"
    assert 0 <= sound_latency_ms < LATENCY_LIMIT_MS and sounds >= 1, (sound_latency_ms, sounds)

    # Most severe first: every tile before the new alert's is at least as severe, and it flashes until taken.
    rank = {"ok": 0, "signal": 1, "cue": 2, "nurse": 3, "urgent": 4}
    levels = await page.eval_on_selector_all(".tile", "ts => ts.map(t => [t.dataset.patient, t.dataset.level])")
    position = [p for p, _ in levels].index(BREACH_PATIENT)
    mine = rank[levels[position][1]]
    assert mine >= rank["cue"] and all(rank[lv] >= mine for _, lv in levels[:position]), levels[: position + 1]
    assert all(rank[lv] <= mine for _, lv in levels[position + 1 :])
    assert await page.get_attribute(tile, "data-alert-state") == "attention"
    await screenshot(page, "wall.png")

    other_item = other.locator(f'li[data-alert-id="{alert.alert_id}"]')
    await other_item.wait_for(timeout=15_000)
    assert await other_item.get_attribute("data-state") == "attention"

    # The cue rises to a nurse alert CEILING_ESCALATE_S after the breach began, and a rise withdraws snoozes and
    # acknowledgements given for the lower tier. When the machine is slow enough that the actions below could
    # straddle the rise, act after it instead, so each step has one expected outcome.
    since_ns = int(alert.alert_id.rsplit(":", 1)[1])
    rise_in_s = CEILING_ESCALATE_S - (time.time_ns() - since_ns) / 1e9
    if rise_in_s < ACTIONS_TAKE_S:
        print(f"\nthe tier rises in {rise_in_s:.0f} s: acting on the nurse alert after it")
        for p in (page, other):
            await p.wait_for_function(
                f"document.querySelector('li[data-alert-id=\"{alert.alert_id}\"]')?.dataset.tier === 'nurse'",
                timeout=(max(rise_in_s, 0) + 15) * 1000,
            )

    # The second nurse snoozes it for 5 minutes: both walls show who snoozed it, and the first nurse's goes quiet.
    await other_item.locator('button[data-action="snooze"]').click()
    await other.locator("#snooze-dialog[open]").wait_for()
    await other.select_option("#snooze-minutes", "5")
    await other.click('#snooze-dialog button[value="snooze"]')
    try:
        await page.wait_for_function(
            f"""() => {{
                 const li = document.querySelector('{item}');
                 return li.dataset.state === 'snoozed' && li.textContent.includes('Snoozed by Nurse Ben Larsen');
               }}""",
            timeout=15_000,
        )
    except PlaywrightTimeoutError:
        server = (await d.api("GET", f"/api/v1/alerts/{alert.alert_id}", "nurse1")).json()
        mine = await page.evaluate(DIAGNOSE, [BREACH_PATIENT, alert.alert_id])
        theirs = await other.evaluate(DIAGNOSE, [BREACH_PATIENT, alert.alert_id])
        notice = await other.text_content("#notice")
        pytest.fail(
            f"the first nurse's wall does not show the second nurse's snooze "
            f"({(time.time_ns() - since_ns) / 1e9:.0f} s after the breach began): server {server}; "
            f"nurse1's wall {mine}; nurse2's wall {theirs}; nurse2's notice {notice!r}"
        )
    assert await page.get_attribute(tile, "data-alert-state") == "snoozed"
    # Any nurse may cancel someone else's snooze; the alert alarms again at once.
    await page.locator(f'{item} button[data-action="unsnooze"]').click()
    await page.wait_for_function(
        f"(t) => document.querySelector('{item}').dataset.state === 'attention' "
        f"&& Number(document.querySelector('{item}').dataset.alarmedMs) > t",
        arg=sound_ms,
        timeout=10_000,
    )
    await other.wait_for_function(
        f"document.querySelector('li[data-alert-id=\"{alert.alert_id}\"]').dataset.state === 'attention'",
        timeout=15_000,
    )

    await page.locator(f'{item} button[data-action="ack"]').click()
    await page.wait_for_function(f"document.querySelector('{item}').dataset.state === 'acknowledged'", timeout=10_000)
    try:
        await other.wait_for_function(
            f"""() => {{
                 const li = document.querySelector('li[data-alert-id="{alert.alert_id}"]');
                 return li && li.dataset.state === 'acknowledged'
                   && li.textContent.includes('Acknowledged by Nurse Ada Okafor');
               }}""",
            timeout=15_000,
        )
    except PlaywrightTimeoutError:
        held = await other.evaluate(DIAGNOSE, [BREACH_PATIENT, alert.alert_id])
        pytest.fail(f"the second nurse's wall does not show the acknowledgement: {held}")
    # The acknowledgement is the server's shared state, not the clicking page's.
    r = await d.api("GET", f"/api/v1/alerts/{alert.alert_id}", "nurse2")
    assert r.json()["acknowledged_by_name"] == "Nurse Ada Okafor"
    assert await other.locator(f'li[data-alert-id="{alert.alert_id}"] button[data-action="ack"]').is_hidden()
    await other.context.close()


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


async def test_fifty_live_patients_stay_smooth(nurse_wall: Page) -> None:
    m: dict[str, Any] = await nurse_wall.evaluate(MEASURE, 10_000)
    frames = m["frames"][1:]
    seconds = sum(frames) / 1000
    report = {
        "tiles": m["tiles"],
        "events_per_s": round(m["events"] / seconds, 1),
        "fps": round(len(frames) / seconds, 1),
        "frame_p50_ms": round(percentile(frames, 50), 1),
        "frame_p95_ms": round(percentile(frames, 95), 1),
        "frame_p99_ms": round(percentile(frames, 99), 1),
        "frame_max_ms": round(max(frames), 1),
        "frames_over_50ms": sum(f > 50 for f in frames),
        "long_tasks": len(m["longTasks"]),
        "long_task_ms_total": round(sum(m["longTasks"]), 1),
        "wall_draw_ms_per_s": round(m["renderMs"] / seconds, 1),
        "wall_draw_ms_per_drawing_frame": round(m["renderMs"] / max(1, m["renderFrames"]), 2),
    }
    print(f"\nSMOOTHNESS {report}")
    assert m["tiles"] >= LIVE
    assert report["events_per_s"] >= 40, "the wall received the live feed of 50 patients"
    # The wall's own work (events, tiles, 50 sparklines) stays a small share of one core, and drawing never blocks
    # the page: measured on a busy 2-core machine that also runs Kafka, PostgreSQL, the stream and the API.
    assert report["wall_draw_ms_per_s"] < 150, report
    assert report["long_task_ms_total"] < 0.4 * seconds * 1000, report
