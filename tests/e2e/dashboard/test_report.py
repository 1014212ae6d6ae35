"""The session report: rendered in the browser, printable, and the same content as a server-side PDF."""

from __future__ import annotations

import asyncio
import io
import time

import psycopg
import pypdf
import pytest
from playwright.async_api import Browser

from tests.e2e.dashboard.conftest import Dashboard
from tests.e2e.dashboard.pages import axe_violations, context, screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240), pytest.mark.asyncio(loop_scope="package")]


async def summarised_session(d: Dashboard, patient_id: str, timeout_s: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while True:
        sessions = (await d.api("GET", f"/api/v1/patients/{patient_id}/sessions", "nurse1")).json()
        done = [s for s in sessions if s["status"] == "summarised"]
        if done:
            return done[0]  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"no summarised session of {patient_id}: {sessions}"
        await asyncio.sleep(1)


async def test_the_session_report_renders_prints_and_downloads_as_pdf(dashboard: Dashboard, browser: Browser) -> None:
    d = dashboard
    session = await summarised_session(d, "sim-002")
    sid = str(session["session_id"])
    page = await (await context(browser, viewport={"width": 1100, "height": 1400}, accept_downloads=True)).new_page()
    await sign_in(page, d.url, "nurse1", "/wall.html")
    await page.goto(d.url + "/patient.html?id=sim-002")
    await page.click(f'#sessions-body tr[data-session-id="{sid}"] a')
    await page.wait_for_url("**/report.html?session=*")
    await page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    await page.wait_for_selector("#chart canvas")
    facts = dict(await page.eval_on_selector_all("[data-fact]", "ds => ds.map(d => [d.dataset.fact, d.textContent])"))
    name = (await d.api("GET", "/api/v1/patients/sim-002", "nurse1")).json()["display_name"]
    assert await page.inner_text("#title") == f"Session report: {name}"
    assert facts["trimp-banister"].replace(".", "").isdigit(), facts  # from the stream's summary
    assert facts["peak-hr"] == f"{session['peak_hr_bpm']:.0f} bpm"
    assert await page.locator("#provisional").is_hidden()
    await screenshot(page, "report.png", full_page=True)
    assert await axe_violations(page) == []

    await page.emulate_media(media="print")
    assert await page.locator("header.topbar").is_hidden() and await page.locator("#chart canvas").is_visible()
    await page.emulate_media(media="screen")

    async with page.expect_download() as download:
        await page.click("#pdf")
    path = await (await download.value).path()
    pdf = path.read_bytes()
    assert pdf.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for expected in (f"Session report: {name}", sid, "Time in band", facts["time-in-band"], facts["peak-hr"]):
        assert expected in text, f"{expected!r} not in the PDF"
    assert f"Banister TRIMP)\n{facts['trimp-banister']}" in text or facts["trimp-banister"] in text

    # Authorised like GET /sessions/{id}: readers in scope; everyone else 404 (ids cannot be probed), or 401.
    url = f"/api/v1/sessions/{sid}/report.pdf"
    expected = {"patient2": 200, "admin1": 200, "patient1": 404, "nurse3": 404, None: 401}
    got = {user: (await d.api("GET", url, user)).status_code for user in expected}
    assert got == expected
    with psycopg.connect(d.database_url) as conn:
        actors = conn.execute(
            "SELECT u.username FROM audit_log a JOIN users u ON u.id::text = a.actor "
            "WHERE a.action = 'read_session_report' AND a.detail->>'session' = %s",
            (sid,),
        ).fetchall()
    assert {"nurse1", "patient2", "admin1"} <= {a[0] for a in actors}
    await page.context.close()
