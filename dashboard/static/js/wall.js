// The nurse wall: one tile per active patient of the clinic, live over the websocket, most severe first.
//
// Events only change the model (cheap); drawing happens once per animation frame for the tiles that changed
// (text, then their sparklines), so 50 patients at 1 Hz cost a handful of small redraws per frame. Alarms are
// decided right away, outside the frame loop, so that a background tab still sounds.
import { acknowledge, askSnooze, cancelSnooze, runAction, snooze } from "./actions.js";
import { applyEngine, applyPublic, applyState, isActive, needsAttention } from "./alerts.js";
import { el, ruleLabel, TIER_LABELS, TIER_RANK } from "./format.js";
import { connectLive } from "./live.js";
import { SampleRing } from "./ring.js";
import { api, apiAll, requireRole, requireSession, wireHeader } from "./session.js";
import { AlarmSound } from "./sound.js";
import { ageNow, createTile, drawTileChart, levelOf, resizeTileChart, updateTile } from "./tile.js";
import { WINDOW_S } from "./spark.js";

const SHOW_AFTER_DATA_S = 600; // a patient whose last data is older than this (and no session, no alert) has no tile
const REPEAT_MS = { urgent: 10_000, nurse: 30_000 }; // unattended alerts alarm again; patient cues sound once
const SNAPSHOT_GRACE_MS = 15_000; // an alert raised this recently may not be in the database's snapshot yet
const HISTORY_CONCURRENCY = 4;

const grid = document.getElementById("tiles");
const idle = document.getElementById("idle-list");
const idleCount = document.getElementById("idle-count");
const announcer = document.getElementById("announcer");
const connection = document.getElementById("connection");
const banner = document.getElementById("offline-banner");

const patients = new Map();
const alarmed = new Map(); // alert id -> {ms, tier} of its last alarm
const stats = { batches: 0, renderMs: 0, renderMaxMs: 0, frames: 0, events: 0, historyLoads: 0 };
globalThis.cardiorehabWall = { stats, patients };
let role = "nurse";
let sound = null;
let order = [];
let frameRequested = false;
let frameToken = 0;
let offlineSince = null;

function model(id, name, index) {
  return {
    id,
    name: name || id,
    index,
    features: null,
    receivedMs: 0,
    ageAtReceipt: Infinity,
    ring: new SampleRing(WINDOW_S + 10),
    alerts: new Map(),
    alarmPlayed: new Map(),
    session: null,
    tile: null,
    dirty: true,
    chartDirty: true,
    history: "none", // none | loading | loaded
  };
}

function patient(id) {
  let m = patients.get(id);
  if (!m) {
    m = model(id, id, patients.size + 1000);
    patients.set(id, m);
  }
  return m;
}

// --- events ------------------------------------------------------------------------------------------------------

function onFeatures(m, f, sentMs, nowMs) {
  if (m.features && f.t_s < m.features.t_s) {
    m.ring.push(f.t_s, f.hr_bpm, f.band_low_bpm, f.band_high_bpm); // late second: the ring ignores what it cannot place
    return;
  }
  m.features = f;
  m.receivedMs = nowMs;
  m.ageAtReceipt = Math.max(f.data_age_s ?? 0, sentMs / 1000 - f.t_s - 1, 0);
  m.ring.push(f.t_s, f.hr_bpm, f.band_low_bpm, f.band_high_bpm);
  m.chartDirty = true;
}

function onSession(m, s, stored) {
  if (stored) {
    m.session = { id: s.session_id, status: s.status, started_ns: s.started_ns };
  } else if (!m.session || m.session.id === s.session_id || s.event === "start") {
    const status = s.event === "start" ? "active" : s.event === "end" ? "ended" : "summarised";
    m.session = { id: s.session_id, status, started_ns: s.started_ns };
  }
}

function onEvents(type, events, frame) {
  const nowMs = Date.now();
  if (type === "snapshot") forgetClearedDuringGap(events, nowMs);
  for (const e of events) {
    const d = e.data;
    const m = patient(d.patient_id);
    if (e.kind === "features") onFeatures(m, d, frame.sent_ms ?? nowMs, nowMs);
    else if (e.kind === "alert") setAlert(m, applyEngine(m.alerts.get(d.alert_id), d));
    else if (e.kind === "alert_state") setAlert(m, applyState(m.alerts.get(d.alert_id), d));
    else if (e.kind === "session" || e.kind === "session_state") onSession(m, d, e.kind === "session_state");
    m.dirty = true;
  }
  stats.events += events.length;
  checkAlarms(nowMs);
  requestFrame();
}

function setAlert(m, next) {
  if (!next) return;
  if (isActive(next)) m.alerts.set(next.alert_id, next);
  else {
    m.alerts.delete(next.alert_id);
    m.alarmPlayed.delete(next.alert_id);
  }
}

/** A snapshot lists every active alert: anything else we hold was cleared while we were away. */
function forgetClearedDuringGap(events, nowMs) {
  const listed = new Set(events.filter((e) => e.kind === "alert_state").map((e) => e.data.alert_id));
  for (const m of patients.values()) {
    for (const [id, a] of m.alerts) {
      if (!listed.has(id) && nowMs - (a.raised_ms ?? 0) > SNAPSHOT_GRACE_MS) {
        m.alerts.delete(id);
        m.dirty = true;
      }
    }
  }
}

function onGap() {
  document.body.dataset.liveGaps = String(Number(document.body.dataset.liveGaps || 0) + 1);
  for (const m of patients.values()) if (m.history === "loaded") m.history = "none"; // reloaded after the snapshot
}

// --- alarms ------------------------------------------------------------------------------------------------------

function checkAlarms(nowMs) {
  let loudest = null;
  const fresh = [];
  const due = [];
  for (const m of patients.values()) {
    for (const a of m.alerts.values()) {
      if (!needsAttention(a, nowMs)) {
        alarmed.delete(a.alert_id);
        continue;
      }
      const last = alarmed.get(a.alert_id);
      const repeat = REPEAT_MS[a.tier];
      if (last && last.tier === a.tier && !(repeat && nowMs - last.ms >= repeat)) continue;
      alarmed.set(a.alert_id, { ms: nowMs, tier: a.tier });
      due.push([m, a.alert_id]);
      if (!last || last.tier !== a.tier) fresh.push(`${TIER_LABELS[a.tier]} alert, ${m.name}: ${ruleLabel(a.rule)}`);
      if (loudest == null || TIER_RANK[a.tier] > TIER_RANK[loudest]) loudest = a.tier;
    }
  }
  if (loudest && sound.play(loudest)) {
    for (const [m, id] of due) {
      m.alarmPlayed.set(id, nowMs); // shown on the alert (data-alarmed-ms): when its tone last played
      m.dirty = true;
    }
  }
  if (fresh.length) announcer.textContent = fresh.join(". ");
}

// --- drawing -----------------------------------------------------------------------------------------------------

/** Draw at the next animation frame; a timer stands in when frames do not come (a background tab, or a wall whose
 * window is hidden behind another): a wall must stay current whether or not it is in front. */
function requestFrame() {
  if (frameRequested) return;
  frameRequested = true;
  const token = ++frameToken;
  requestAnimationFrame(() => frame(token));
  setTimeout(() => frame(token), document.hidden ? 250 : 1000);
}

function shown(m, nowMs) {
  if (m.tile && m.history === "loading") return true;
  for (const a of m.alerts.values()) if (isActive(a)) return true;
  if (m.session?.status === "active") return true;
  return ageNow(m, nowMs) < SHOW_AFTER_DATA_S;
}

function frame(token) {
  if (token !== frameToken || !frameRequested) return; // the other of the two callbacks already drew
  frameRequested = false;
  const t0 = performance.now();
  const nowMs = Date.now();
  const nowS = nowMs / 1000;
  let membership = false;
  for (const m of patients.values()) {
    const visible = shown(m, nowMs);
    if (visible && !m.tile) {
      m.tile = createTile(m);
      membership = true;
    } else if (!visible && m.tile) {
      m.tile.root.remove();
      m.tile.chart?.destroy();
      m.tile = null;
      membership = true;
    }
  }
  if (membership) renderIdle();
  const wanted = [...patients.values()]
    .filter((m) => m.tile)
    .map((m) => [m, levelOf(m, nowMs)])
    .sort((a, b) => b[1] - a[1] || a[0].index - b[0].index)
    .map(([m]) => m);
  if (membership || wanted.some((m, i) => order[i] !== m) || wanted.length !== order.length) reorder(wanted);
  for (const m of wanted) {
    if (m.history === "none") loadHistory(m);
    if (m.dirty) {
      updateTile(m.tile, m, nowMs, role);
      m.dirty = false;
    }
    if (m.chartDirty || nowS - m.tile.lastDrawS >= 5) {
      drawTileChart(m.tile, m, nowS);
      m.chartDirty = false;
    }
  }
  const ms = performance.now() - t0;
  stats.frames += 1;
  stats.renderMs += ms;
  stats.renderMaxMs = Math.max(stats.renderMaxMs, ms);
}

/** Put the tiles in severity order, moving DOM nodes only when the order changed (and keeping keyboard focus). */
function reorder(wanted) {
  const focused = document.activeElement;
  const fragmentOrder = wanted.map((m) => m.tile.root);
  fragmentOrder.forEach((node, i) => {
    if (grid.children[i] !== node) grid.insertBefore(node, grid.children[i] ?? null);
  });
  order = wanted;
  document.body.dataset.tiles = String(wanted.length);
  if (focused && focused !== document.activeElement && document.contains(focused)) focused.focus();
}

function renderIdle() {
  const idlePatients = [...patients.values()].filter((m) => !m.tile && m.index < 1000).sort((a, b) => a.index - b.index);
  idleCount.textContent = String(idlePatients.length);
  idle.replaceChildren(
    ...idlePatients.map((m) =>
      el("li", {}, el("a", { href: `/patient.html?id=${encodeURIComponent(m.id)}` }, m.name)),
    ),
  );
}

// --- history (REST), for sparklines after a load or a gap ----------------------------------------------------------

const historyQueue = [];
let historyRunning = 0;

function loadHistory(m) {
  m.history = "loading";
  historyQueue.push(m);
  pumpHistory();
}

function pumpHistory() {
  while (historyRunning < HISTORY_CONCURRENCY && historyQueue.length) {
    const m = historyQueue.shift();
    historyRunning += 1;
    const start = new Date(Date.now() - WINDOW_S * 1000).toISOString();
    api(`/api/v1/patients/${encodeURIComponent(m.id)}/features?start=${encodeURIComponent(start)}&resolution_s=1`)
      .then((h) => {
        m.ring.merge(
          h.points.map((p) => [Math.floor(Date.parse(p.time) / 1000), p.hr_bpm, p.band_low_bpm, p.band_high_bpm]),
        );
        stats.historyLoads += 1;
        document.body.dataset.historyLoads = String(stats.historyLoads);
        m.history = "loaded";
      })
      .catch(() => {
        m.history = "loaded"; // live data still fills the sparkline
      })
      .finally(() => {
        historyRunning -= 1;
        m.chartDirty = true;
        requestFrame();
        pumpHistory();
      });
  }
}

// --- actions -----------------------------------------------------------------------------------------------------

function findAlert(id) {
  for (const m of patients.values()) if (m.alerts.has(id)) return [m, m.alerts.get(id)];
  return [null, null];
}

async function onAction(event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const id = button.closest("[data-alert-id]")?.dataset.alertId;
  const [m, alert] = findAlert(id);
  if (!alert) return;
  let result = null;
  button.disabled = true;
  try {
    if (button.dataset.action === "ack") result = await runAction("Acknowledge", () => acknowledge(id));
    else if (button.dataset.action === "unsnooze") result = await runAction("Cancel snooze", () => cancelSnooze(id));
    else if (button.dataset.action === "snooze") {
      const choice = await askSnooze(alert);
      if (choice) result = await runAction("Snooze", () => snooze(id, choice.minutes, choice.reason));
    }
  } finally {
    button.disabled = false;
  }
  if (result) {
    setAlert(m, applyPublic(m.alerts.get(id), result));
    m.dirty = true;
    checkAlarms(Date.now());
    requestFrame();
  }
}

// --- connection state, clock -----------------------------------------------------------------------------------

function onState(state, detail) {
  const labels = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", forbidden: "Not allowed" };
  connection.textContent = labels[state] ?? state;
  connection.dataset.state = state;
  document.body.dataset.live = state;
  if (state === "live") offlineSince = null;
  else offlineSince ??= Date.now();
  if (state === "forbidden") banner.textContent = `The live feed refused this login: ${detail || "not allowed"}`;
}

function tick() {
  const nowMs = Date.now();
  checkAlarms(nowMs);
  for (const m of patients.values()) m.dirty = true; // ages, elapsed times, snooze expiries
  const offline = offlineSince != null && nowMs - offlineSince > 5000;
  banner.hidden = !offline && connection.dataset.state !== "forbidden";
  if (offline) {
    banner.textContent = `Connection lost ${Math.round((nowMs - offlineSince) / 1000)} s ago: this wall is NOT live.`;
  }
  requestFrame();
}

async function main() {
  const session = await requireSession();
  if (!requireRole(session, ["nurse", "charge_nurse"])) return;
  role = session.role;
  wireHeader(session);
  sound = new AlarmSound(document.getElementById("sound"));
  const list = await apiAll("/api/v1/patients");
  list.forEach((p, i) => patients.set(p.id, model(p.id, p.display_name, i)));
  renderIdle();
  grid.addEventListener("click", onAction);
  connectLive({ scope: "clinic" }, { onEvents, onGap, onState });
  setInterval(tick, 1000);
  new ResizeObserver(() => {
    for (const m of patients.values()) if (m.tile) resizeTileChart(m.tile);
  }).observe(grid);
}

main();
