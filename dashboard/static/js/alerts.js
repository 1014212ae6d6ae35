// Alert state as the live feed and the REST API describe it, merged by the rules of docs/api.md:
// engine steps (`alert`, AlertV1) apply only with a higher `revision`; clinicians' actions (`alert_state`,
// AlertStateV1, or a REST answer) only with a higher `action_seq`; a rise in tier withdraws the acknowledgement
// and the snooze (they were given for a less urgent alert). Pure: no DOM.
import { TIER_RANK } from "./format.js";

const ns2ms = (ns) => (ns == null ? null : ns / 1e6);
const iso2ms = (iso) => (iso == null ? null : Date.parse(iso));

function blank(id, patientId) {
  return {
    alert_id: id,
    patient_id: patientId,
    rule: "",
    tier: "patient_cue",
    state: "active",
    revision: -1,
    action_seq: -1,
    message: "",
    value: null,
    threshold: null,
    raised_ms: null,
    cleared_ms: null,
    acked_ms: null,
    acked_by: null,
    snoozed_until_ms: null,
    snoozed_by: null,
    snooze_reason: null,
    escalation_level: 0,
    escalated_by: null,
  };
}

const withdrawn = { acked_ms: null, acked_by: null, snoozed_until_ms: null, snoozed_by: null, snooze_reason: null };

/** An engine step (AlertV1). Returns the new state, or null when it is not newer than what is held. */
export function applyEngine(current, a) {
  if (current && a.revision <= current.revision) return null;
  const next = { ...(current ?? blank(a.alert_id, a.patient_id)) };
  Object.assign(next, {
    rule: a.rule,
    tier: a.tier,
    revision: a.revision,
    message: a.message,
    value: a.value ?? null,
    threshold: a.threshold ?? null,
    state: a.event === "cleared" ? "cleared" : "active",
  });
  if (next.raised_ms == null) next.raised_ms = ns2ms(a.t_ns);
  if (a.event === "cleared") next.cleared_ms = ns2ms(a.t_ns);
  if (current && TIER_RANK[a.tier] > TIER_RANK[current.tier]) Object.assign(next, withdrawn);
  return next;
}

/** The fields both wire forms name alike; `times` are the four instants, already in ms. */
function common(x, times) {
  return {
    alert_id: x.alert_id,
    patient_id: x.patient_id,
    rule: x.rule,
    tier: x.tier,
    state: x.state,
    revision: x.revision,
    action_seq: x.action_seq,
    message: x.message,
    value: x.value ?? null,
    threshold: x.threshold ?? null,
    ...times,
    acked_by: x.acknowledged_by_name ?? null,
    snoozed_by: x.snoozed_by_name ?? null,
    snooze_reason: x.snooze_reason ?? null,
    escalation_level: x.escalation_level ?? 0,
    escalated_by: x.escalated_by_name ?? null,
  };
}

/** The shared state after a clinician's action, or a stored state (AlertStateV1 from the feed). */
export function applyState(current, s) {
  return merge(
    current,
    common(s, {
      raised_ms: ns2ms(s.raised_ns),
      cleared_ms: ns2ms(s.cleared_ns),
      acked_ms: ns2ms(s.acknowledged_ns),
      snoozed_until_ms: ns2ms(s.snoozed_until_ns),
    }),
  );
}

/** The REST form of an alert (AlertPublic, e.g. the answer to an acknowledgement). */
export function applyPublic(current, p) {
  return merge(
    current,
    common(p, {
      raised_ms: iso2ms(p.raised_at),
      cleared_ms: iso2ms(p.cleared_at),
      acked_ms: iso2ms(p.acknowledged_at),
      snoozed_until_ms: iso2ms(p.snoozed_until),
    }),
  );
}

const ENGINE = ["rule", "tier", "state", "revision", "message", "value", "threshold", "raised_ms", "cleared_ms"];
const CLINICIAN = [
  "action_seq",
  "acked_ms",
  "acked_by",
  "snoozed_until_ms",
  "snoozed_by",
  "snooze_reason",
  "escalation_level",
  "escalated_by",
];

function merge(current, incoming) {
  if (!current) return { ...blank(incoming.alert_id, incoming.patient_id), ...incoming };
  const newerEngine = incoming.revision > current.revision;
  const newerAction = incoming.action_seq > current.action_seq;
  if (!newerEngine && !newerAction) return null;
  const next = { ...current };
  if (newerEngine) {
    for (const k of ENGINE) next[k] = incoming[k];
    if (!newerAction && TIER_RANK[incoming.tier] > TIER_RANK[current.tier]) Object.assign(next, withdrawn);
  }
  if (newerAction) {
    for (const k of CLINICIAN) next[k] = incoming[k];
    // Given for a lower tier than the engine has since raised: the server has withdrawn it too.
    if (TIER_RANK[incoming.tier] < TIER_RANK[next.tier]) Object.assign(next, withdrawn);
  }
  if (next.raised_ms == null) next.raised_ms = incoming.raised_ms;
  return next;
}

export const isActive = (a) => a.state === "active";
export const isSnoozed = (a, nowMs = Date.now()) => a.snoozed_until_ms != null && a.snoozed_until_ms > nowMs;

/** Active, not acknowledged and not snoozed: someone has to look. */
export const needsAttention = (a, nowMs = Date.now()) => isActive(a) && a.acked_ms == null && !isSnoozed(a, nowMs);

/** Most urgent first, then oldest first. */
export function byUrgency(a, b) {
  return TIER_RANK[b.tier] - TIER_RANK[a.tier] || (a.raised_ms ?? 0) - (b.raised_ms ?? 0);
}
