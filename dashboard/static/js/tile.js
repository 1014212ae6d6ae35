// One patient's tile on the wall: heart rate in the colour of the prescribed zone, a sparkline on the band, phase
// and elapsed time, data age and signal state, and the alerts with their shared state and actions.
import { byUrgency, isActive, isSnoozed, needsAttention } from "./alerts.js";
import { maySnooze } from "./actions.js";
import { age, bpm, clock, el, phaseLabel, setData, setText, signalLabel, TIER_LABELS, timeOf, zoneLabel } from "./format.js";
import { drawSpark, sparkline } from "./spark.js";

export const LEVELS = ["ok", "signal", "cue", "nurse", "urgent"];
export const STALE_S = 10; // the strap notifies every second: 10 s without data is a problem
const LOW_BATTERY_PCT = 15;
const SPARK_HEIGHT = 52;

export function createTile(model) {
  const headingId = `tile-${model.id}`;
  const bpmEl = el("span", { class: "bpm" }, "--");
  const refs = {
    bpm: bpmEl,
    zone: el("span", { class: "zone-label" }, "No data"),
    band: el("span", { class: "band" }),
    phase: el("span", { class: "phase" }, "—"),
    elapsed: el("span", { class: "elapsed" }),
    age: el("span", { class: "age" }),
    signal: el("span", { class: "signal" }),
    battery: el("span", { class: "battery" }),
    spark: el("div", { class: "spark", "aria-hidden": "true" }),
    alerts: el("ul", { class: "alerts", "aria-label": `Alerts of ${model.name}` }),
  };
  const root = el(
    "article",
    { class: "tile", "data-patient": model.id, "aria-labelledby": headingId },
    el(
      "header",
      { class: "tile-head" },
      el("h2", { id: headingId }, el("a", { href: `/patient.html?id=${encodeURIComponent(model.id)}` }, model.name)),
      el("span", { class: "when" }, refs.phase, " ", refs.elapsed),
    ),
    el(
      "div",
      { class: "tile-main" },
      el("p", { class: "hr" }, refs.bpm, el("span", { class: "unit" }, "bpm")),
      el("p", { class: "zone" }, refs.zone),
    ),
    refs.spark,
    el("p", { class: "status" }, refs.age, refs.signal, refs.battery, refs.band),
    refs.alerts,
  );
  return { root, refs, chart: null, alertEls: new Map(), lastDrawS: 0 };
}

/** Data age (s) now: the age when the server sent the features, plus the time since (skew-free). */
export function ageNow(model, nowMs) {
  return model.features ? model.ageAtReceipt + (nowMs - model.receivedMs) / 1000 : Infinity;
}

export function signalProblem(model, nowMs) {
  const f = model.features;
  if (!f) return false;
  return f.signal !== "ok" || ageNow(model, nowMs) > STALE_S || (f.battery_pct != null && f.battery_pct <= LOW_BATTERY_PCT);
}

/** Severity used to sort tiles: urgent > nurse > patient cue > signal problems > ok. */
export function levelOf(model, nowMs) {
  let top = -1;
  for (const a of model.alerts.values()) {
    if (isActive(a)) top = Math.max(top, a.tier === "urgent" ? 4 : a.tier === "nurse" ? 3 : 2);
  }
  if (top >= 0) return top;
  return signalProblem(model, nowMs) ? 1 : 0;
}

export function updateTile(tile, model, nowMs, role) {
  const { refs, root } = tile;
  const f = model.features;
  const ageS = ageNow(model, nowMs);
  const stale = ageS > STALE_S;
  setText(refs.bpm, stale ? "--" : bpm(f?.hr_bpm));
  const zone = stale || !f ? 0 : (f.zone ?? 0);
  setData(root, "zone", zone);
  setText(refs.zone, stale && f ? "No current data" : zoneLabel(zone));
  setText(refs.band, f?.band_low_bpm != null ? `Band ${bpm(f.band_low_bpm)}–${bpm(f.band_high_bpm)}` : "");
  setText(refs.phase, phaseLabel(f?.phase));
  const inSession = model.session?.status === "active" || (f?.session_id && !stale);
  const elapsed = f && inSession ? f.elapsed_s + (nowMs - model.receivedMs) / 1000 : null;
  setText(refs.elapsed, elapsed == null ? "" : clock(elapsed));
  setText(refs.age, f ? `Data ${age(ageS)}` : "No data yet");
  setData(refs.age, "stale", stale);
  setText(refs.signal, f ? signalLabel(stale ? "stale" : f.signal) : "");
  setData(refs.signal, "signal", f ? (stale ? "stale" : f.signal) : "");
  const battery = f?.battery_pct;
  setText(refs.battery, battery == null ? "" : `Battery ${battery}%${battery <= LOW_BATTERY_PCT ? " (low)" : ""}`);
  setData(refs.battery, "low", battery != null && battery <= LOW_BATTERY_PCT);
  const level = levelOf(model, nowMs);
  setData(root, "level", LEVELS[level]);
  setData(root, "updated", f?.t_s ?? "");
  renderAlerts(tile, model, nowMs, role);
}

export function drawTileChart(tile, model, nowS) {
  if (!tile.chart) {
    const width = Math.max(120, tile.refs.spark.clientWidth || 200);
    tile.chart = sparkline(tile.refs.spark, width, SPARK_HEIGHT);
  }
  drawSpark(tile.chart, model.ring, nowS);
  tile.lastDrawS = nowS;
}

export function resizeTileChart(tile) {
  if (!tile.chart) return;
  const width = Math.max(120, tile.refs.spark.clientWidth);
  if (width !== tile.chart.width) tile.chart.setSize({ width, height: SPARK_HEIGHT });
}

function alertState(a, nowMs) {
  if (a.acked_ms != null) return "acknowledged";
  if (isSnoozed(a, nowMs)) return "snoozed";
  return needsAttention(a, nowMs) ? "attention" : "quiet";
}

function whoText(a, state) {
  if (state === "acknowledged") return `Acknowledged by ${a.acked_by ?? "a nurse"} at ${timeOf(a.acked_ms)}`;
  if (state === "snoozed") return `Snoozed by ${a.snoozed_by ?? "a nurse"} until ${timeOf(a.snoozed_until_ms)}`;
  return `Raised ${timeOf(a.raised_ms)}${a.escalation_level ? ` · escalated to level ${a.escalation_level}` : ""}`;
}

function createAlertEl(a) {
  const refs = {
    badge: el("span", { class: "badge" }),
    msg: el("span", { class: "msg" }),
    who: el("span", { class: "who" }),
    ack: el("button", { type: "button", "data-action": "ack" }, "Acknowledge"),
    snooze: el("button", { type: "button", "data-action": "snooze" }, "Snooze…"),
    unsnooze: el("button", { type: "button", "data-action": "unsnooze" }, "Cancel snooze"),
    note: el("span", { class: "note" }, "Snooze: charge nurse only"),
  };
  const li = el(
    "li",
    { class: "alert", "data-alert-id": a.alert_id },
    el("p", { class: "alert-text" }, refs.badge, " ", refs.msg),
    el("p", { class: "alert-meta" }, refs.who),
    el("div", { class: "alert-actions" }, refs.ack, refs.snooze, refs.unsnooze, refs.note),
  );
  return { li, refs };
}

function renderAlerts(tile, model, nowMs, role) {
  const active = [...model.alerts.values()].filter(isActive).sort(byUrgency);
  const keep = new Set(active.map((a) => a.alert_id));
  for (const [id, item] of tile.alertEls) {
    if (!keep.has(id)) {
      item.li.remove();
      tile.alertEls.delete(id);
    }
  }
  const top = active[0];
  setData(tile.root, "alertTier", top ? top.tier : "");
  setData(tile.root, "alertState", top ? alertState(top, nowMs) : "");
  active.forEach((a, i) => {
    let item = tile.alertEls.get(a.alert_id);
    if (!item) {
      item = createAlertEl(a);
      tile.alertEls.set(a.alert_id, item);
      item.li.dataset.shownMs = String(Date.now());
    }
    const { li, refs } = item;
    const state = alertState(a, nowMs);
    setData(li, "tier", a.tier);
    setData(li, "state", state);
    setData(li, "alarmedMs", model.alarmPlayed.get(a.alert_id) ?? "");
    setText(refs.badge, TIER_LABELS[a.tier]);
    setText(refs.msg, a.message);
    setText(refs.who, whoText(a, state));
    const nurse = role === "nurse" || role === "charge_nurse";
    refs.ack.hidden = !nurse || state === "acknowledged";
    refs.snooze.hidden = !nurse || state === "acknowledged" || !maySnooze(a, role);
    refs.unsnooze.hidden = !nurse || state !== "snoozed";
    refs.note.hidden = !nurse || state === "acknowledged" || maySnooze(a, role);
    if (tile.refs.alerts.children[i] !== li) tile.refs.alerts.insertBefore(li, tile.refs.alerts.children[i] ?? null);
  });
}
