// The patient's own view: big heart rate, the zone gauge, one guidance cue, the session timer, and at the bottom
// (thumb reach) the exertion prompt and the symptom button. It subscribes to the patient's own feed only; the
// server refuses anything else.
import { bpm, clock, cueLabel, phaseLabel, setData, setText, zoneLabel } from "./format.js";
import { BORG, SYMPTOMS, postRpe, postSymptoms } from "./entries.js";
import { createGauge, updateGauge } from "./gauge.js";
import { connectLive } from "./live.js";
import { requireRole, requireSession, wireHeader } from "./session.js";

const STALE_S = 10;
const RPE_EVERY_S = 300; // prompt each stage (CLINICAL.md 2.2): here every 5 minutes of exercise and at cool-down

const $ = (id) => document.getElementById(id);
const state = { features: null, receivedMs: 0, ageAtReceipt: 0, session: null, alerts: new Map(), lastRpeMs: 0, lastPhase: null };
let patientId = null;
let gauge = null;

function ageNow(nowMs) {
  return state.features ? state.ageAtReceipt + (nowMs - state.receivedMs) / 1000 : Infinity;
}

function onEvents(_type, events, frame) {
  const nowMs = Date.now();
  for (const e of events) {
    const d = e.data;
    if (d.patient_id !== patientId) continue; // never shown: the server sends only ours, this is belt and braces
    if (e.kind === "features" && (!state.features || d.t_s >= state.features.t_s)) {
      if (state.lastPhase && d.phase !== state.lastPhase && ["cool_down", "recovery"].includes(d.phase)) promptRpe();
      state.lastPhase = d.phase;
      state.features = d;
      state.receivedMs = nowMs;
      state.ageAtReceipt = Math.max(d.data_age_s ?? 0, (frame.sent_ms ?? nowMs) / 1000 - d.t_s - 1, 0);
    } else if (e.kind === "session_state") {
      state.session = { id: d.session_id, status: d.status };
    } else if (e.kind === "session") {
      state.session = { id: d.session_id, status: d.event === "start" ? "active" : "ended" };
    } else if (e.kind === "alert" || e.kind === "alert_state") {
      const active = e.kind === "alert" ? d.event !== "cleared" : d.state === "active";
      if (active) state.alerts.set(d.alert_id, d.tier);
      else state.alerts.delete(d.alert_id);
    }
  }
  render();
}

function render() {
  const nowMs = Date.now();
  const f = state.features;
  const ageS = ageNow(nowMs);
  const stale = ageS > STALE_S;
  setText($("hr"), stale ? "--" : bpm(f?.hr_bpm));
  const zone = stale || !f ? 0 : (f.zone ?? 0);
  setData(document.body, "zone", zone);
  setText($("zone"), f ? (stale ? "No current data" : zoneLabel(zone)) : "Waiting for your strap…");
  const cue = !f ? "none" : stale ? "check_strap" : f.cue;
  setData($("cue"), "cue", cue);
  setText($("cue-text"), !f ? "Put on your strap to start" : cueLabel(cue));
  setText($("phase"), f ? phaseLabel(f.phase) : "");
  const inSession = f && !stale && f.session_id;
  setText($("timer"), inSession ? clock(f.elapsed_s + (nowMs - state.receivedMs) / 1000) : "--:--");
  setText($("age"), !f ? "" : stale ? `No data for ${Math.round(ageS)} s` : "Live");
  const tiers = [...state.alerts.values()];
  $("team").hidden = !tiers.some((t) => t === "nurse" || t === "urgent");
  updateGauge(gauge, stale ? null : f);
  const due = nowMs - state.lastRpeMs > RPE_EVERY_S * 1000 && f?.elapsed_s > RPE_EVERY_S;
  if (f && f.phase === "exercise" && !stale && due) promptRpe();
}

function promptRpe() {
  $("rpe-prompt").hidden = false;
}

function sessionId() {
  return state.features?.session_id ?? (state.session?.status === "active" ? state.session.id : null);
}

function buildRpeDialog() {
  const grid = $("borg");
  grid.replaceChildren(
    ...BORG.map(([value, words]) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "borg";
      b.dataset.rpe = String(value);
      b.setAttribute("aria-label", `${value}${words ? `, ${words}` : ""}`);
      b.append(Object.assign(document.createElement("strong"), { textContent: String(value) }));
      if (words) b.append(Object.assign(document.createElement("span"), { textContent: words }));
      return b;
    }),
  );
  grid.addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-rpe]");
    if (!b) return;
    const rpe = Number(b.dataset.rpe);
    const context = ["cool_down", "recovery"].includes(state.features?.phase) ? "session_end" : "during";
    try {
      await postRpe(patientId, rpe, sessionId(), context);
      state.lastRpeMs = Date.now();
      $("rpe-prompt").hidden = true;
      $("entry-status").textContent = `Saved: effort ${rpe}. Thank you.`;
      $("rpe-dialog").close();
    } catch (err) {
      $("rpe-error").textContent = `Not saved: ${err.message}`;
    }
  });
}

function buildSymptomDialog() {
  const list = $("symptom-list");
  list.replaceChildren(
    ...SYMPTOMS.map(([code, words]) => {
      const id = `sym-${code}`;
      const label = document.createElement("label");
      label.className = "check";
      label.htmlFor = id;
      const input = Object.assign(document.createElement("input"), { type: "checkbox", id, name: "symptom", value: code });
      label.append(input, document.createTextNode(` ${words}`));
      return label;
    }),
  );
  const severity = $("severity");
  const out = $("severity-value");
  severity.addEventListener("input", () => {
    out.textContent = severity.value;
  });
  $("symptom-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (ev.submitter?.value === "cancel") {
      $("symptom-dialog").close();
      return;
    }
    const chosen = [...list.querySelectorAll("input:checked")].map((i) => i.value);
    if (!chosen.length) {
      $("symptom-error").textContent = "Choose at least one symptom.";
      return;
    }
    try {
      await postSymptoms(patientId, chosen, Number(severity.value), sessionId(), $("symptom-note").value.trim());
      $("entry-status").textContent = "Saved: your care team can see your symptoms.";
      $("symptom-dialog").close();
      for (const i of list.querySelectorAll("input:checked")) i.checked = false;
    } catch (err) {
      $("symptom-error").textContent = `Not saved: ${err.message}`;
    }
  });
}

async function main() {
  const session = await requireSession();
  if (!requireRole(session, ["patient"])) return;
  patientId = session.patient_id;
  document.body.dataset.patientId = patientId;
  wireHeader(session);
  setText($("name"), session.display_name);
  gauge = createGauge($("gauge"));
  buildRpeDialog();
  buildSymptomDialog();
  $("open-rpe").addEventListener("click", () => {
    $("rpe-error").textContent = "";
    $("rpe-dialog").showModal();
  });
  $("rpe-prompt-open").addEventListener("click", () => $("open-rpe").click());
  $("open-symptoms").addEventListener("click", () => {
    $("symptom-error").textContent = "";
    $("symptom-dialog").showModal();
  });
  connectLive(
    { patient_id: patientId },
    {
      onEvents,
      onState: (s) => {
        setData($("connection"), "state", s);
        setText($("connection"), { live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…" }[s] ?? s);
      },
    },
  );
  setInterval(render, 1000);
}

main();
