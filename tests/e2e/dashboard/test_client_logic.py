"""The browser's own rules, run in Chromium on the served modules: how alert steps and clinicians' actions merge
(docs/api.md: higher revision, higher action_seq, a tier rise withdraws acknowledgement and snooze), the
sparkline's ring buffer, and asking again about an alert not stored yet."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser

from tests.e2e.dashboard.conftest import Dashboard
from tests.e2e.dashboard.pages import context

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240), pytest.mark.asyncio(loop_scope="package")]

ALERT_RULES = """
async () => {
  const A = await import('/js/alerts.js');
  const step = (revision, tier, event = 'raised') => ({alert_id: 'a1', patient_id: 'p', rule: 'above_ceiling', tier,
    event, revision, t_ns: 1e18 + revision * 1e9, message: `r${revision}`});
  const state = (seq, revision, tier, extra = {}) => ({alert_id: 'a1', patient_id: 'p', rule: 'above_ceiling', tier,
    state: 'active', revision, action_seq: seq, raised_ns: 1e18, message: `s${seq}`, ...extra});
  const out = {};
  let a = A.applyEngine(null, step(0, 'patient_cue'));
  out.older_step_ignored = A.applyEngine(a, step(0, 'patient_cue')) === null;
  a = A.applyState(a, state(1, 0, 'patient_cue', {acknowledged_ns: 2e18, acknowledged_by_name: 'Ada'}));
  out.acked = a.acked_by === 'Ada' && !A.needsAttention(a, 0);
  out.stale_action_ignored = A.applyState(a, state(1, 0, 'patient_cue')) === null;
  const risen = A.applyEngine(a, step(1, 'nurse', 'updated'));
  out.tier_rise_withdraws_ack = risen.acked_ms === null && risen.tier === 'nurse' && A.needsAttention(risen, 0);
  const late = A.applyState(risen, state(2, 0, 'patient_cue', {snoozed_until_ns: 9e18, snoozed_by_name: 'Ben'}));
  out.lower_tier_snooze_not_applied = late.snoozed_until_ms === null && late.tier === 'nurse' && late.action_seq === 2;
  const snoozed = A.applyState(late, state(3, 1, 'nurse', {snoozed_until_ns: 5e18, snoozed_by_name: 'Ben'}));
  out.snoozed_is_quiet_until_expiry = !A.needsAttention(snoozed, 4e12) && A.needsAttention(snoozed, 6e12);
  out.cleared = !A.isActive(A.applyEngine(snoozed, step(2, 'nurse', 'cleared')));
  return out;
}
"""

RING = """
async () => {
  const {SampleRing} = await import('/js/ring.js');
  const r = new SampleRing(5);
  for (const t of [1, 2, 3]) r.push(t, 60 + t, 90, 110);
  const out = {};
  out.replace_last = r.push(3, 99, 90, 110) && r.size === 3;
  out.late_ignored = r.push(2, 0, 0, 0) === false;
  for (const t of [4, 5, 6, 20]) r.push(t, 70, null, null);
  const [t, hr, lo] = r.series();
  out.capacity_and_gap = JSON.stringify(t) === JSON.stringify([3, 4, 5, 6, 7, 20]) && hr[4] === null && hr[0] === 99;
  out.nulls = lo[1] === null;
  r.merge([[1, 50, 90, 110], [19, 55, 90, 110]]);
  out.merge_keeps_newest = JSON.stringify(r.series()[0]) === JSON.stringify([4, 5, 6, 7, 19, 20]);
  return out;
}
"""

WHEN_STORED = """
async () => {
  const {whenStored} = await import('/js/actions.js');
  const {ApiError} = await import('/js/session.js');
  const answers = (...xs) => {
    let i = 0;
    return async () => { const x = xs[i++]; if (x instanceof Error) throw x; return x; };
  };
  const missing = () => new ApiError('no alert', 404);
  const out = {};
  let waits = 0;
  const ok = await whenStored(answers(missing(), missing(), 'ok'), {everyMs: 1, onWait: () => waits++});
  out.asks_again_after_404 = ok === 'ok' && waits === 2;
  try { await whenStored(answers(new ApiError('refused', 409)), {everyMs: 1}); out.other_errors_at_once = false; }
  catch (e) { out.other_errors_at_once = e.status === 409; }
  try { await whenStored(async () => { throw missing(); }, {forMs: 20, everyMs: 5}); out.gives_up = false; }
  catch (e) { out.gives_up = e.status === 404; }
  out.stops_when_unwanted = await whenStored(answers(missing(), 'late'), {everyMs: 1, wanted: () => false}) === null;
  return out;
}
"""


async def test_alert_merge_rules_and_ring_buffer(dashboard: Dashboard, browser: Browser) -> None:
    page = await (await context(browser)).new_page()
    await page.goto(dashboard.url + "/")
    alerts: dict[str, Any] = await page.evaluate(ALERT_RULES)
    assert alerts and all(alerts.values()), alerts
    ring: dict[str, Any] = await page.evaluate(RING)
    assert ring and all(ring.values()), ring
    stored: dict[str, Any] = await page.evaluate(WHEN_STORED)
    assert stored and all(stored.values()), stored
    await page.context.close()
