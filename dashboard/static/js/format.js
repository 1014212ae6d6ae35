// Labels and formatting shared by every view (the words nurses and patients see).

export const ZONES = ["No data", "Very light", "Below band", "In band", "Above band", "Above ceiling"];

export const CUES = {
  keep_going: "Keep going",
  ease_off: "Ease off",
  speed_up: "Speed up",
  cool_down: "Cool down now",
  check_strap: "Check your strap",
  stop: "Stop",
  rest: "Rest",
  none: "—",
};

const PHASES = {
  rest: "Rest",
  warm_up: "Warm-up",
  exercise: "Exercise",
  cool_down: "Cool-down",
  recovery: "Recovery",
  unknown: "—",
};

const SIGNALS = {
  ok: "Signal ok",
  degraded: "Signal poor",
  no_contact: "No skin contact",
  stale: "Data stale",
  lost: "Signal lost",
};

export const TIER_LABELS = { urgent: "Urgent", nurse: "Nurse", patient_cue: "Patient cue" };
export const TIER_RANK = { patient_cue: 0, nurse: 1, urgent: 2 };

export const RULES = {
  above_ceiling: "Above ceiling",
  above_absolute_limit: "Above stop limit",
  do_not_start: "Do not start",
  inappropriate_response: "HR not rising",
  irregular_rhythm: "Irregular rhythm",
  signal_lost: "Signal lost",
  no_contact: "No strap contact",
  low_battery: "Low battery",
};

// Session summary flags (sessions.v1) and prescription flags (analytics.physiology.prescription), in words.
export const FLAGS = {
  hrr1_abnormal: "HRR1 abnormal (12 bpm or less)",
  hrr2_abnormal: "HRR2 abnormal (42 bpm or less)",
  irregular_rhythm_screened: "irregular rhythm screened: record an ECG",
  signal_lost: "signal lost during the session",
  low_chronotropic_response: "low chronotropic response (under 80 % of the prescribed reserve used)",
  no_measured_peak: "no measured peak HR",
  fallback_band_rhr_plus_20_30: "fallback band (resting HR + 20-30 bpm)",
  age_predicted_peak_220_minus_age: "age-predicted peak HR (220 - age)",
  beta_blocker_rpe_primary: "beta-blocker: RPE is the primary target",
  rest_hr_estimated: "resting HR estimated",
  sex_unknown_banister_k_male: "sex unknown: Banister TRIMP uses the male constant",
  default_ceiling_70pct_hrr: "default ceiling (70 % of HR reserve)",
};

export const flagLabel = (flag) => FLAGS[flag] ?? flag.replaceAll("_", " ");
export const zoneLabel = (zone) => ZONES[zone ?? 0] ?? ZONES[0];
export const cueLabel = (cue) => CUES[cue] ?? CUES.none;
export const phaseLabel = (phase) => PHASES[phase] ?? phase ?? "—";
export const signalLabel = (signal) => SIGNALS[signal] ?? signal;
export const ruleLabel = (rule) => RULES[rule] ?? rule.replaceAll("_", " ");

export function bpm(value) {
  return value == null || Number.isNaN(value) ? "--" : String(Math.round(value));
}

/** 754 -> "12:34"; 4000 -> "1:06:40". */
export function clock(seconds) {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** A data age for people: "now", "7 s", "3 min", "2 h". */
export function age(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return "no data";
  if (seconds < 2) return "now";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

const TIME = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export const timeOf = (ms) => (ms == null ? "—" : TIME.format(new Date(ms)));
export const dateTimeOf = (ms) => (ms == null ? "—" : DATE_TIME.format(new Date(ms)));
export const isoMs = (iso) => (iso == null ? null : Date.parse(iso));

export function number(value, digits = 0, unit = "") {
  if (value == null || !Number.isFinite(value)) return "—";
  return `${value.toFixed(digits)}${unit ? ` ${unit}` : ""}`;
}

/** Create an element with attributes and children (text or nodes); never parses HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Set text only when it changed (the wall updates 50 tiles a second; unchanged text costs nothing). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export function setData(node, key, value) {
  const v = value == null ? "" : String(value);
  if (node.dataset[key] !== v) node.dataset[key] = v;
}
