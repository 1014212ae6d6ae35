// A patient in detail, for the nurse: live heart rate on the band, RR tachogram, ECG strips (Polar H10), alert
// timeline with history and actions, RPE and symptoms, prescription versions, and past sessions with reports.
import { acknowledge, askSnooze, cancelSnooze, escalate, maySnooze, runAction, snooze, whenStored } from "./actions.js";
import { applyEngine, applyPublic, applyState, isSnoozed } from "./alerts.js";
import { ecgChart, ecgSeries, featureSeries, hrChart, rrSeries, tachogram } from "./charts.js";
import { symptomLabel } from "./entries.js";
import {
  bpm, clock, cueLabel, dateTimeOf, el, isoMs, number, phaseLabel, ruleLabel, setData, setText, signalLabel,
  TIER_LABELS, timeOf, zoneLabel,
} from "./format.js";
import { connectLive } from "./live.js";
import { api, ApiError, isNurse, requireSession, wireHeader } from "./session.js";

const HR_WINDOW_S = 30 * 60;
const RR_WINDOW_S = 10 * 60;
const ECG_WINDOW_S = 120;
const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

const state = { id: null, role: null, features: null, alerts: new Map(), chart: null, chartData: null, ceiling: null };

function fail(message) {
  $("page-error").textContent = message;
  $("page-error").hidden = false;
  for (const s of document.querySelectorAll("[data-section]")) s.hidden = true;
}

// --- live --------------------------------------------------------------------------------------------------------

function onEvents(_type, events) {
  let alertsChanged = false;
  for (const e of events) {
    const d = e.data;
    if (d.patient_id !== state.id) continue;
    if (e.kind === "features") onFeatures(d);
    else if (e.kind === "alert") alertsChanged = setAlert(applyEngine(state.alerts.get(d.alert_id), d)) || alertsChanged;
    else if (e.kind === "alert_state") alertsChanged = setAlert(applyState(state.alerts.get(d.alert_id), d)) || alertsChanged;
  }
  if (alertsChanged) renderAlerts();
}

function onFeatures(f) {
  if (state.features && f.t_s < state.features.t_s) return;
  state.features = f;
  setText($("live-hr"), bpm(f.hr_bpm));
  setData($("live"), "zone", f.zone ?? 0);
  setText($("live-zone"), zoneLabel(f.zone));
  setText($("live-band"), f.band_low_bpm != null ? `band ${bpm(f.band_low_bpm)}–${bpm(f.band_high_bpm)}, ceiling ${bpm(f.ceiling_bpm)}` : "");
  setText($("live-cue"), `Patient sees: ${cueLabel(f.cue)}`);
  setText($("live-phase"), `${phaseLabel(f.phase)} ${f.session_id ? clock(f.elapsed_s) : ""}`);
  setText($("live-signal"), `${signalLabel(f.signal)}${f.battery_pct != null ? ` · battery ${f.battery_pct}%` : ""}`);
  setText($("live-load"), `Time in band ${clock(f.time_in_band_s)} · TRIMP ${number(f.trimp_banister, 1)}`);
  if (state.chart && f.hr_bpm !== undefined) {
    const [x, hr, lo, hi, ce] = state.chartData;
    if (!x.length || f.t_s > x[x.length - 1]) {
      x.push(f.t_s);
      hr.push(f.hr_bpm);
      lo.push(f.band_low_bpm);
      hi.push(f.band_high_bpm);
      ce.push(f.ceiling_bpm);
      while (x.length && x[0] < f.t_s - HR_WINDOW_S) for (const a of state.chartData) a.shift();
      state.chart.setData(state.chartData);
    }
  }
}

function setAlert(next) {
  if (!next) return false;
  state.alerts.set(next.alert_id, next);
  return true;
}

// --- sections ------------------------------------------------------------------------------------------------------

async function loadHrChart() {
  const start = new Date(Date.now() - HR_WINDOW_S * 1000).toISOString();
  const h = await api(`/api/v1/patients/${enc(state.id)}/features?start=${enc(start)}`);
  state.chartData = featureSeries(h.points, state.ceiling);
  state.chart = hrChart($("hr-chart"), state.chartData);
  $("hr-empty").hidden = h.points.length > 0;
}

async function loadTachogram() {
  const start = new Date(Date.now() - RR_WINDOW_S * 1000).toISOString();
  const h = await api(`/api/v1/patients/${enc(state.id)}/readings/hr?start=${enc(start)}&resolution_s=1`);
  const data = rrSeries(h.points);
  $("rr-empty").hidden = data[0].length > 0;
  $("rr-chart").replaceChildren();
  if (data[0].length) tachogram($("rr-chart"), data);
}

async function loadEcg() {
  // The last 2 minutes (the API allows 5): the newest strip even when the sink is a little behind.
  const start = new Date(Date.now() - ECG_WINDOW_S * 1000).toISOString();
  const snippet = await api(`/api/v1/patients/${enc(state.id)}/ecg?start=${enc(start)}`);
  const data = ecgSeries(snippet.frames);
  $("ecg-chart").replaceChildren();
  $("ecg-empty").hidden = data != null;
  const last = snippet.frames.at(-1);
  setText($("ecg-when"), data ? `The last ${Math.round(data[0].at(-1))} s of ECG, up to ${timeOf(isoMs(last.time))}` : "");
  if (data) ecgChart($("ecg-chart"), data);
}

async function loadAlerts() {
  const list = await api(`/api/v1/alerts?patient_id=${enc(state.id)}&limit=50`);
  for (const a of list) setAlert(applyPublic(state.alerts.get(a.alert_id), a));
  renderAlerts();
}

function alertStatus(a) {
  if (a.state === "cleared") return `cleared ${timeOf(a.cleared_ms)}`;
  if (a.acked_ms != null) return `acknowledged by ${a.acked_by} at ${timeOf(a.acked_ms)}`;
  if (isSnoozed(a)) return `snoozed by ${a.snoozed_by} until ${timeOf(a.snoozed_until_ms)}`;
  return "active, not acknowledged";
}

function renderAlerts() {
  const list = [...state.alerts.values()].sort((a, b) => (b.raised_ms ?? 0) - (a.raised_ms ?? 0));
  $("alerts-empty").hidden = list.length > 0;
  const nurse = state.role === "nurse" || state.role === "charge_nurse";
  // A live update re-renders the list: keep every alert the nurse has open open, with the history shown so far.
  const opened = new Map();
  for (const details of $("alert-list").querySelectorAll("li[data-alert-id] > details[open]")) {
    opened.set(details.parentElement.dataset.alertId, details.querySelector(".history"));
  }
  $("alert-list").replaceChildren(
    ...list.map((a) => {
      const actions = [];
      if (nurse && a.state === "active") {
        if (a.acked_ms == null) actions.push(el("button", { type: "button", "data-action": "ack" }, "Acknowledge"));
        if (a.acked_ms == null && !isSnoozed(a) && maySnooze(a, state.role)) {
          actions.push(el("button", { type: "button", "data-action": "snooze" }, "Snooze…"));
        }
        if (isSnoozed(a)) actions.push(el("button", { type: "button", "data-action": "unsnooze" }, "Cancel snooze"));
        if (a.escalation_level < 3) {
          actions.push(el("button", { type: "button", "data-action": "escalate" }, `Escalate to level ${a.escalation_level + 1}`));
        }
      }
      return el(
        "li",
        { class: "timeline-item", "data-alert-id": a.alert_id, "data-tier": a.tier, "data-state": a.state },
        el(
          "details",
          {},
          el(
            "summary",
            {},
            el("span", { class: "badge" }, TIER_LABELS[a.tier]),
            ` ${timeOf(a.raised_ms)} · ${ruleLabel(a.rule)}: ${a.message} (${alertStatus(a)})`,
          ),
          el("div", { class: "history" }, "Loading history…"),
        ),
        actions.length ? el("div", { class: "alert-actions" }, actions) : null,
      );
    }),
  );
  for (const item of $("alert-list").children) {
    const shown = opened.get(item.dataset.alertId);
    if (!shown) continue;
    const details = item.querySelector("details");
    details.querySelector(".history").replaceChildren(...shown.childNodes);
    details.open = true; // fires "toggle": the history is fetched again, with the step that caused this update
  }
}

async function loadAlertHistory(details) {
  const id = details.closest("[data-alert-id]").dataset.alertId;
  const box = details.querySelector(".history");
  try {
    const a = await whenStored(() => api(`/api/v1/alerts/${enc(id)}`), {
      forMs: 60_000,
      onWait: () => { box.textContent = "Alert just raised: its history is being stored…"; },
      wanted: () => details.isConnected && details.open, // re-rendered or closed: the new one asks for itself
    });
    if (!a) return;
    box.replaceChildren(
      el(
        "table",
        {},
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "When"), el("th", { scope: "col" }, "Step"), el("th", { scope: "col" }, "By"), el("th", { scope: "col" }, "Detail"))),
        el(
          "tbody",
          {},
          a.history.map((h) =>
            el(
              "tr",
              {},
              el("td", {}, timeOf(isoMs(h.at))),
              el("td", {}, h.kind.replaceAll("_", " ")),
              el("td", {}, h.actor_name ?? "engine"),
              el("td", {}, [h.tier ? TIER_LABELS[h.tier] : null, h.message, h.note, h.escalation_level ? `level ${h.escalation_level}` : null].filter(Boolean).join(" · ")),
            ),
          ),
        ),
      ),
    );
  } catch (err) {
    box.textContent = `History not available: ${err.message}`;
  }
}

async function onAlertAction(event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const id = button.closest("[data-alert-id]").dataset.alertId;
  const a = state.alerts.get(id);
  let result = null;
  if (button.dataset.action === "ack") result = await runAction("Acknowledge", () => acknowledge(id));
  else if (button.dataset.action === "unsnooze") result = await runAction("Cancel snooze", () => cancelSnooze(id));
  else if (button.dataset.action === "escalate") result = await runAction("Escalate", () => escalate(id, a.escalation_level + 1));
  else if (button.dataset.action === "snooze") {
    const choice = await askSnooze(a);
    if (choice) result = await runAction("Snooze", () => snooze(id, choice.minutes, choice.reason));
  }
  if (result && setAlert(applyPublic(state.alerts.get(id), result))) renderAlerts();
}

const cell = (text) => el("td", {}, text);

async function loadEntries() {
  const [rpe, symptoms] = await Promise.all([
    api(`/api/v1/patients/${enc(state.id)}/rpe?limit=50`),
    api(`/api/v1/patients/${enc(state.id)}/symptoms?limit=50`),
  ]);
  const rows = [
    ...rpe.map((r) => ({ at: isoMs(r.at), what: `RPE ${r.rpe} (Borg)`, detail: [r.context.replaceAll("_", " "), r.note].filter(Boolean).join(" · ") })),
    ...symptoms.map((s) => ({ at: isoMs(s.at), what: s.symptoms.map(symptomLabel).join(", "), detail: [`severity ${s.severity}/10`, s.note].filter(Boolean).join(" · ") })),
  ].sort((a, b) => b.at - a.at);
  $("entries-empty").hidden = rows.length > 0;
  $("entries-body").replaceChildren(...rows.map((r) => el("tr", {}, cell(dateTimeOf(r.at)), cell(r.what), cell(r.detail))));
}

function bandText(p) {
  const unit = { karvonen: "of HR reserve", pct_peak: "of peak HR", threshold: "of threshold HR", bpm: "bpm" }[p.method];
  const fmt = (v) => (p.method === "bpm" ? Math.round(v) : `${Math.round(v * 100)}%`);
  return `${fmt(p.intensity_low)}–${fmt(p.intensity_high)} ${unit}`;
}

async function loadPrescriptions() {
  const versions = await api(`/api/v1/patients/${enc(state.id)}/prescriptions?limit=50`);
  $("rx-empty").hidden = versions.length > 0;
  const current = versions[0];
  if (current) {
    state.ceiling = current.ceiling_bpm;
    $("rx-current").replaceChildren(
      el("dt", {}, "Target"), el("dd", {}, bandText(current)),
      el("dt", {}, "Ceiling"), el("dd", {}, `${Math.round(current.ceiling_bpm)} bpm`),
      el("dt", {}, "Resting / peak HR"), el("dd", {}, `${Math.round(current.resting_hr_bpm)} / ${current.peak_hr_bpm ? Math.round(current.peak_hr_bpm) : "not measured"} bpm (${current.peak_hr_source.replaceAll("_", " ")})`),
      el("dt", {}, "RPE target"), el("dd", {}, `${current.rpe_low}–${current.rpe_high}`),
      el("dt", {}, "Beta-blocker"), el("dd", {}, current.beta_blocker ? "yes (RPE is the primary target, HR a ceiling)" : "no"),
      el("dt", {}, "Prescribed"), el("dd", {}, `version ${current.version} by ${current.prescribed_by_name}, ${dateTimeOf(isoMs(current.prescribed_at))}`),
    );
  }
  $("rx-body").replaceChildren(
    ...versions.map((p) =>
      el("tr", {}, cell(String(p.version)), cell(dateTimeOf(isoMs(p.prescribed_at))), cell(p.prescribed_by_name), cell(bandText(p)), cell(`${Math.round(p.ceiling_bpm)} bpm`), cell(p.note ?? "")),
    ),
  );
}

async function loadSessions() {
  const sessions = await api(`/api/v1/patients/${enc(state.id)}/sessions?limit=50`);
  $("sessions-empty").hidden = sessions.length > 0;
  $("sessions-body").replaceChildren(
    ...sessions.map((s) =>
      el(
        "tr",
        { "data-session-id": s.session_id },
        el("td", {}, el("a", { href: `/report.html?session=${enc(s.session_id)}` }, dateTimeOf(isoMs(s.started_at)))),
        cell(s.status),
        cell(s.duration_s != null ? clock(s.duration_s) : "—"),
        cell(number(s.time_in_band_pct, 0, "%")),
        cell(number(s.peak_hr_bpm, 0, "bpm")),
        cell(number(s.hrr1_bpm, 0, "bpm")),
      ),
    ),
  );
}

async function section(name, fn) {
  try {
    await fn();
  } catch (err) {
    const box = document.querySelector(`[data-section="${name}"] .section-error`);
    if (box) box.textContent = `Could not load: ${err.message}`;
  }
}

async function main() {
  const session = await requireSession();
  wireHeader(session);
  state.role = session.role;
  state.id = new URLSearchParams(window.location.search).get("id");
  if (!isNurse(session)) $("back").hidden = true;
  if (!state.id) return fail("No patient chosen: open a patient from the wall.");
  let patient;
  try {
    patient = await api(`/api/v1/patients/${enc(state.id)}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return fail(`Patient ${state.id} not found, or not visible to you.`);
    return fail(`Could not load the patient: ${err.message}`);
  }
  document.title = `cardiorehab · ${patient.display_name}`;
  setText($("patient-name"), patient.display_name);
  setText($("patient-meta"), [patient.id, patient.sex, patient.birth_year ? `born ${patient.birth_year}` : null, patient.mrn ? `MRN ${patient.mrn}` : null].filter(Boolean).join(" · "));
  $("alert-list").addEventListener("click", onAlertAction);
  $("alert-list").addEventListener("toggle", (ev) => { if (ev.target.open) loadAlertHistory(ev.target); }, true);
  $("ecg-refresh").addEventListener("click", () => section("ecg", loadEcg));
  $("rr-refresh").addEventListener("click", () => section("rr", loadTachogram));
  await section("rx", loadPrescriptions);
  await section("hr", loadHrChart);
  const onState = (s) => {
    setData($("connection"), "state", s);
    setText($("connection"), s === "live" ? "Live" : s);
  };
  connectLive({ patient_id: state.id }, { onEvents, onState });
  await Promise.all([section("alerts", loadAlerts), section("rr", loadTachogram), section("ecg", loadEcg), section("entries", loadEntries), section("sessions", loadSessions)]);
}

main();
