"""Runs the rules over snapshots: minimum durations, hysteresis, one alert per episode, stable alert ids.

The engine is a pure function ``evaluate(state, snapshot) -> (state, alerts)``. Its state is small and
serialisable (it lives in the worker's table), so a restarted or replacement worker continues the same episodes:
an episode's ``alert_id`` is ``<patient>:<rule>:<start ns>`` where the start comes from the data, and each
lifecycle step has a ``revision``; replays of the same input produce the same ids and revisions, which
downstream writers treat as duplicates.
"""

from __future__ import annotations

import msgspec

from analytics.alerts.rules import RULES, TIER_RANK, Rule, Verdict
from analytics.alerts.snapshot import Snapshot
from analytics.events import AlertV1

UPDATE_MIN_INTERVAL_S = 30.0
"""An active alert's value is re-announced at most every 30 s (and only if it worsened)."""
WORSENED_BY = 5.0
"""... by at least 5 units of its value (bpm, seconds, %), so an update means something changed."""


class RuleState(msgspec.Struct, kw_only=True):
    pending_since_ns: int | None = None
    clear_since_ns: int | None = None
    alert_id: str | None = None
    started_ns: int | None = None
    revision: int = 0
    tier: str | None = None
    last_update_ns: int = 0
    reported_value: float | None = None


class AlertEngineState(msgspec.Struct, kw_only=True):
    rules: dict[str, RuleState] = msgspec.field(default_factory=dict)

    def active(self) -> dict[str, RuleState]:
        return {name: r for name, r in self.rules.items() if r.alert_id is not None}


def _alert(s: Snapshot, rule: Rule, rs: RuleState, event: str, verdict: Verdict, message: str) -> AlertV1:
    assert rs.alert_id is not None
    assert rs.tier is not None
    return AlertV1(
        alert_id=rs.alert_id,
        patient_id=s.patient_id,
        session_id=s.session_id,
        rule=rule.name,
        tier=rs.tier,  # type: ignore[arg-type]
        event=event,  # type: ignore[arg-type]
        revision=rs.revision,
        t_ns=s.now_ns,
        message=message,
        value=verdict.value,
        threshold=verdict.threshold,
    )


def _tier_for(rule: Rule, verdict: Verdict, rs: RuleState, now_ns: int) -> str:
    tier: str = verdict.tier or rule.tier
    if (
        rule.escalate_after_s is not None
        and rule.escalate_to is not None
        and rs.started_ns is not None
        and now_ns - rs.started_ns >= rule.escalate_after_s * 1e9
    ):
        tier = max(tier, rule.escalate_to, key=TIER_RANK.__getitem__)
    # An episode never de-escalates: once the nurse was called, the alert stays at that tier until it clears.
    if rs.tier is not None:
        tier = max(tier, rs.tier, key=TIER_RANK.__getitem__)
    return tier


def _step(rule: Rule, rs: RuleState, s: Snapshot) -> tuple[RuleState, list[AlertV1]]:
    """One rule, one snapshot. ``rs`` is a private copy the caller replaces."""
    verdict = rule.check(s) if (s.in_session or not rule.session_only) else Verdict(active=False)
    now = s.now_ns
    out: list[AlertV1] = []
    if rs.alert_id is None:
        if verdict.active is True:
            since = verdict.since_ns if verdict.since_ns is not None else (rs.pending_since_ns or now)
            rs.pending_since_ns = since
            if now - since >= rule.raise_after(s.thresholds) * 1e9:
                rs.alert_id = f"{s.patient_id}:{rule.name}:{since}"
                rs.started_ns, rs.revision, rs.clear_since_ns = since, 0, None
                rs.tier = _tier_for(rule, verdict, rs, now)
                rs.last_update_ns, rs.reported_value = now, verdict.value
                out.append(_alert(s, rule, rs, "raised", verdict, verdict.message))
        elif verdict.active is False:
            rs.pending_since_ns = None
        return rs, out

    if verdict.active is False:
        rs.clear_since_ns = rs.clear_since_ns or now
        if now - rs.clear_since_ns >= rule.clear_after_s * 1e9 or (not s.in_session and rule.session_only):
            rs.revision += 1
            reason = "session ended" if rule.session_only and not s.in_session else "condition resolved"
            out.append(_alert(s, rule, rs, "cleared", verdict, f"cleared: {reason}"))
            return RuleState(), out
        return rs, out
    if verdict.active is True:
        rs.clear_since_ns = None
        tier = _tier_for(rule, verdict, rs, now)
        worse = (
            rule.report_worsening
            and verdict.value is not None
            and rs.reported_value is not None
            and verdict.value >= rs.reported_value + WORSENED_BY
            and now - rs.last_update_ns >= UPDATE_MIN_INTERVAL_S * 1e9
        )
        if tier != rs.tier or worse:
            rs.tier, rs.revision = tier, rs.revision + 1
            rs.last_update_ns, rs.reported_value = now, verdict.value
            out.append(_alert(s, rule, rs, "updated", verdict, verdict.message))
    return rs, out


def evaluate(state: AlertEngineState, snapshot: Snapshot) -> tuple[AlertEngineState, list[AlertV1]]:
    """Evaluate every rule on ``snapshot``; returns the new state and the alert events to publish, in rule order.

    ``state`` is not changed; when no rule has state before or after, it is returned as it is (the common case,
    every second for every patient: nothing pending, nothing active)."""
    previous = state.rules
    in_session = snapshot.session_id is not None
    rules: dict[str, RuleState] = {}
    alerts: list[AlertV1] = []
    for rule in RULES:
        current = previous.get(rule.name) if previous else None
        # Only a condition that holds creates state.
        if current is None and (not (in_session or not rule.session_only) or rule.check(snapshot).active is not True):
            continue
        rs = msgspec.structs.replace(current) if current is not None else RuleState()
        rs, emitted = _step(rule, rs, snapshot)
        if rs != _EMPTY:
            rules[rule.name] = rs
        alerts.extend(emitted)
    if not rules and not previous:
        return state, alerts
    return AlertEngineState(rules=rules), alerts


_EMPTY = RuleState()
