// Acknowledge, snooze, cancel a snooze, escalate: the shared alert actions (docs/api.md), and the snooze dialog.
import { TIER_LABELS } from "./format.js";
import { api, ApiError } from "./session.js";

const url = (id, tail) => `/api/v1/alerts/${encodeURIComponent(id)}/${tail}`;

/**
 * Call the API about an alert the page may have learnt of live, before the sink stored it (usually a second or two,
 * longer while the database catches up): a 404 is asked again every `everyMs` for up to `forMs`, while `wanted()`.
 * Returns the answer, or null once no longer wanted; the last error once the time is up.
 */
export async function whenStored(call, { forMs = 10_000, everyMs = 1000, onWait = () => {}, wanted = () => true } = {}) {
  const until = Date.now() + forMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404) || Date.now() >= until) throw err;
      onWait();
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      if (!wanted()) return null;
    }
  }
}

const act = (id, tail, options) => whenStored(() => api(url(id, tail), options));

export const acknowledge = (id) => act(id, "acknowledge", { method: "POST", json: {} });
export const cancelSnooze = (id) => act(id, "snooze", { method: "DELETE" });
export const escalate = (id, level) => act(id, "escalate", { method: "POST", json: { level } });
export function snooze(id, minutes, reason) {
  return act(id, "snooze", { method: "PUT", json: reason ? { minutes, reason } : { minutes } });
}

// Within the API's defaults: patient-cue and nurse alerts up to 60 min, urgent ones (charge nurse only) up to 5.
const MINUTES = { urgent: [1, 2, 3, 5], other: [5, 10, 15, 30, 60] };

/** May this role snooze this alert at all? (Urgent alerts: only a charge nurse.) */
export function maySnooze(alert, role) {
  return alert.tier !== "urgent" || role === "charge_nurse";
}

/** Ask for a snooze duration (and, for urgent alerts, a reason) in the page's <dialog id="snooze-dialog">. */
export function askSnooze(alert) {
  const dialog = document.getElementById("snooze-dialog");
  const form = dialog.querySelector("form");
  const select = form.elements.minutes;
  const reason = form.elements.reason;
  const urgent = alert.tier === "urgent";
  select.replaceChildren(
    ...(urgent ? MINUTES.urgent : MINUTES.other).map((m) => new Option(`${m} min`, String(m), m === 5, m === 5)),
  );
  dialog.querySelector(".snooze-title").textContent = `Snooze ${TIER_LABELS[alert.tier].toLowerCase()} alert`;
  dialog.querySelector(".snooze-rule").textContent = urgent
    ? "Urgent alerts: at most 5 minutes, with a reason. Every nurse sees the snooze and can cancel it."
    : "Every nurse sees the snooze and can cancel it. The alert alarms again when it ends.";
  reason.required = urgent;
  reason.value = "";
  return new Promise((resolve) => {
    const done = (value) => {
      form.removeEventListener("submit", onSubmit);
      dialog.removeEventListener("close", onClose);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onSubmit = (ev) => {
      ev.preventDefault();
      if (ev.submitter?.value === "cancel") return done(null);
      done({ minutes: Number(select.value), reason: reason.value.trim() || null });
    };
    const onClose = () => done(null);
    form.addEventListener("submit", onSubmit);
    dialog.addEventListener("close", onClose);
    dialog.showModal();
  });
}

/** Run an action and report its outcome in the page's status line. Returns the API's answer, or null. */
export async function runAction(label, fn) {
  const notice = document.getElementById("notice");
  try {
    const result = await fn();
    if (notice) notice.textContent = `${label}: done`;
    return result;
  } catch (err) {
    if (notice) notice.textContent = `${label} failed: ${err.message}`;
    return null;
  }
}
