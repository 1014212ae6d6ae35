// The session report: heart rate on the prescribed band, time in band, training load, peak HR, recovery, alerts and
// the patient's entries. Printable (print CSS) and downloadable as PDF (rendered by the server from the same data).
import { featureSeries, hrChart } from "./charts.js";
import { symptomLabel } from "./entries.js";
import { clock, dateTimeOf, el, flagLabel, isoMs, number, ruleLabel, TIER_LABELS, timeOf } from "./format.js";
import { api, ApiError, isNurse, requireSession, wireHeader } from "./session.js";

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

function fail(message) {
  $("page-error").textContent = message;
  $("page-error").hidden = false;
  $("report").hidden = true;
}

/** The prescription in force when the session started (the newest version prescribed before it). */
function inForce(versions, startedMs) {
  const before = versions.filter((p) => isoMs(p.prescribed_at) <= startedMs);
  return before[0] ?? versions[versions.length - 1] ?? null;
}

/** Figures from the stream's summary; while a session runs, provisional ones from its feature history. */
function figures(s, history) {
  const pts = history.points.filter((p) => p.hr_bpm != null);
  const step = history.resolution_s;
  const provisional = s.status !== "summarised";
  const inBand = history.points.filter((p) => p.in_band).length * step;
  const duration = s.duration_s ?? (history.points.length ? (isoMs(history.points.at(-1).time) - isoMs(s.started_at)) / 1000 + step : 0);
  const hrs = pts.map((p) => p.hr_bpm);
  return {
    provisional,
    duration_s: duration,
    time_in_band_s: s.time_in_band_s ?? inBand,
    time_in_band_pct: s.time_in_band_pct ?? (duration > 0 ? (100 * inBand) / duration : null),
    peak_hr_bpm: s.peak_hr_bpm ?? (hrs.length ? Math.max(...hrs) : null),
    mean_hr_bpm: s.mean_hr_bpm ?? (hrs.length ? hrs.reduce((a, b) => a + b, 0) / hrs.length : null),
    trimp_banister: s.trimp_banister,
    trimp_edwards: s.trimp_edwards,
    hrr1_bpm: s.hrr1_bpm,
    hrr2_bpm: s.hrr2_bpm,
    flags: s.flags,
  };
}

function fact(term, value, id) {
  return [el("dt", {}, term), el("dd", id ? { "data-fact": id } : {}, value)];
}

function renderFacts(f, rx) {
  const pending = f.provisional ? "after the session ends" : "not available";
  $("facts").replaceChildren(
    ...fact("Duration", clock(f.duration_s), "duration"),
    ...fact("Time in band", `${clock(f.time_in_band_s)} (${number(f.time_in_band_pct, 0, "%")})`, "time-in-band"),
    ...fact("Peak heart rate", number(f.peak_hr_bpm, 0, "bpm"), "peak-hr"),
    ...fact("Mean heart rate", number(f.mean_hr_bpm, 0, "bpm"), "mean-hr"),
    ...fact("Training load (Banister TRIMP)", f.trimp_banister == null ? pending : number(f.trimp_banister, 1), "trimp-banister"),
    ...fact("Training load (Edwards TRIMP)", f.trimp_edwards == null ? pending : number(f.trimp_edwards, 1), "trimp-edwards"),
    ...fact("HRR1 (drop in 1 min)", f.hrr1_bpm == null ? pending : number(f.hrr1_bpm, 0, "bpm"), "hrr1"),
    ...fact("HRR2 (drop in 2 min)", f.hrr2_bpm == null ? pending : number(f.hrr2_bpm, 0, "bpm"), "hrr2"),
    ...fact("Flags", f.flags.length ? f.flags.map(flagLabel).join("; ") : "none", "flags"),
  );
  $("provisional").hidden = !f.provisional;
  if (rx) {
    const unit = { karvonen: "of HR reserve", pct_peak: "of peak HR", threshold: "of threshold HR", bpm: "bpm" }[rx.method];
    const fmt = (v) => (rx.method === "bpm" ? Math.round(v) : `${Math.round(v * 100)}%`);
    $("rx").textContent =
      `Prescription version ${rx.version}: ${fmt(rx.intensity_low)}–${fmt(rx.intensity_high)} ${unit}, ` +
      `ceiling ${Math.round(rx.ceiling_bpm)} bpm, RPE ${rx.rpe_low}–${rx.rpe_high}${rx.beta_blocker ? ", on a beta-blocker" : ""}.`;
  }
}

function row(...cells) {
  return el("tr", {}, cells.map((c) => el("td", {}, c)));
}

async function main() {
  const session = await requireSession();
  wireHeader(session);
  if (!isNurse(session)) $("back").href = "/me.html";
  const id = new URLSearchParams(window.location.search).get("session");
  if (!id) return fail("No session chosen: open a report from a patient's page.");
  let s;
  try {
    s = await api(`/api/v1/sessions/${enc(id)}`);
  } catch (err) {
    return fail(err instanceof ApiError && err.status === 404 ? `Session ${id} not found, or not visible to you.` : err.message);
  }
  const started = isoMs(s.started_at);
  const ended = s.ended_at ? isoMs(s.ended_at) : Date.now();
  const pid = enc(s.patient_id);
  const range = `start=${enc(new Date(started).toISOString())}&end=${enc(new Date(ended + 1000).toISOString())}`;
  const since = enc(new Date(started).toISOString());
  const [patient, versions, history, alerts, rpe, symptoms] = await Promise.all([
    api(`/api/v1/patients/${pid}`),
    api(`/api/v1/patients/${pid}/prescriptions?limit=100`),
    api(`/api/v1/patients/${pid}/features?${range}`),
    api(`/api/v1/alerts?patient_id=${pid}&since=${since}&until=${enc(new Date(ended + 1000).toISOString())}&limit=500`),
    api(`/api/v1/patients/${pid}/rpe?since=${since}&limit=500`),
    api(`/api/v1/patients/${pid}/symptoms?since=${since}&limit=500`),
  ]);
  const rx = inForce(versions, started);
  document.title = `cardiorehab · report · ${patient.display_name}`;
  $("title").textContent = `Session report: ${patient.display_name}`;
  $("subtitle").textContent = `${patient.id} · ${dateTimeOf(started)} – ${s.ended_at ? timeOf(ended) : "still running"} · session ${s.session_id}`;
  renderFacts(figures(s, history), rx);
  const data = featureSeries(history.points, rx?.ceiling_bpm);
  $("chart-empty").hidden = history.points.length > 0;
  if (history.points.length) hrChart($("chart"), data, { light: true, height: 280 });
  const mine = alerts.filter((a) => a.session_id == null || a.session_id === s.session_id).reverse();
  $("alerts-empty").hidden = mine.length > 0;
  $("alerts-table").hidden = mine.length === 0; // no header row over nothing
  $("alerts-body").replaceChildren(
    ...mine.map((a) =>
      row(
        timeOf(isoMs(a.raised_at)),
        TIER_LABELS[a.tier],
        `${ruleLabel(a.rule)}: ${a.message}`,
        a.acknowledged_at ? `${a.acknowledged_by_name}, ${timeOf(isoMs(a.acknowledged_at))}` : "—",
        a.cleared_at ? timeOf(isoMs(a.cleared_at)) : "active",
      ),
    ),
  );
  const inSession = (e) => isoMs(e.at) <= ended + 60_000;
  const entries = [
    ...rpe.filter(inSession).map((r) => [isoMs(r.at), `RPE ${r.rpe}`, r.context.replaceAll("_", " ")]),
    ...symptoms.filter(inSession).map((x) => [isoMs(x.at), x.symptoms.map(symptomLabel).join(", "), `severity ${x.severity}/10`]),
  ].sort((a, b) => a[0] - b[0]);
  $("entries-empty").hidden = entries.length > 0;
  $("entries-table").hidden = entries.length === 0;
  $("entries-body").replaceChildren(...entries.map(([at, what, detail]) => row(timeOf(at), what, detail)));
  $("print").addEventListener("click", () => window.print());
  $("pdf").addEventListener("click", () => downloadPdf(s.session_id));
  document.body.dataset.ready = "true";
}

async function downloadPdf(sessionId) {
  const status = $("notice");
  status.textContent = "Preparing the PDF…";
  try {
    const res = await api(`/api/v1/sessions/${enc(sessionId)}/report.pdf`, { raw: true });
    const url = URL.createObjectURL(await res.blob());
    const a = el("a", { href: url, download: `session-report-${sessionId.replaceAll(":", "-")}.pdf` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    status.textContent = "PDF downloaded.";
  } catch (err) {
    status.textContent = `PDF failed: ${err.message}`;
  }
}

main();
