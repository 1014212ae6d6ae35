"""The alert rules. Each looks at a :class:`Snapshot` and returns a :class:`Verdict`; the engine adds timing.

Every rule names its tier (CLINICAL.md 2.3), how long its condition must hold before it raises, how long it must
be gone before it clears, and optionally a later, higher tier if the condition persists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import msgspec

from analytics.alerts import const
from analytics.alerts.snapshot import Snapshot, Thresholds

Tier = Literal["patient_cue", "nurse", "urgent"]
TIER_RANK: dict[str, int] = {"patient_cue": 0, "nurse": 1, "urgent": 2}


class Verdict(msgspec.Struct, frozen=True, gc=False):
    """``active`` None means "cannot tell" (e.g. no heart rate): the engine neither raises nor clears on it.

    A frozen msgspec struct: built for every active condition every second, and several times cheaper to build
    than a frozen dataclass."""

    active: bool | None
    value: float | None = None
    threshold: float | None = None
    tier: Tier | None = None  # overrides the rule's tier (e.g. fast AF is urgent)
    since_ns: int | None = None  # when the condition started, if the data says (deterministic episode ids)
    message: str = ""


UNKNOWN = Verdict(active=None)
INACTIVE = Verdict(active=False)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    tier: Tier
    check: Callable[[Snapshot], Verdict]
    raise_after: Callable[[Thresholds], float]
    clear_after_s: float
    session_only: bool = True
    escalate_after_s: float | None = None
    escalate_to: Tier | None = None
    report_worsening: bool = False  # re-announce the value when it gets clearly worse (heart-rate rules)


def _above_ceiling(s: Snapshot) -> Verdict:
    if s.hr_bpm is None:
        return UNKNOWN
    ceiling = s.thresholds.ceiling_bpm
    if s.hr_bpm > ceiling:
        return Verdict(
            True,
            s.hr_bpm,
            ceiling,
            message=f"heart rate {s.hr_bpm:.0f} bpm is above the prescribed ceiling of {ceiling:.0f} bpm: ease off",
        )
    # Hysteresis: between ceiling − margin and the ceiling the alert neither raises nor clears.
    return INACTIVE if s.hr_bpm <= ceiling - const.CEILING_CLEAR_MARGIN_BPM else UNKNOWN


def _above_absolute(s: Snapshot) -> Verdict:
    if s.hr_bpm is None:
        return UNKNOWN
    limit = s.thresholds.absolute_limit_bpm
    if s.hr_bpm > limit:
        return Verdict(
            True,
            s.hr_bpm,
            limit,
            message=f"heart rate {s.hr_bpm:.0f} bpm is above the stop limit of {limit:.0f} bpm: stop exercising",
        )
    return INACTIVE if s.hr_bpm <= limit - 5.0 else UNKNOWN


def _do_not_start(s: Snapshot) -> Verdict:
    if s.exercise_seen:
        return INACTIVE  # only before exercise starts
    if s.rest_hr_bpm is None:
        return UNKNOWN
    limit = s.thresholds.do_not_start_rest_hr_bpm
    if s.rest_hr_bpm >= limit:
        return Verdict(
            True,
            s.rest_hr_bpm,
            limit,
            message=f"resting heart rate {s.rest_hr_bpm:.0f} bpm is at or "
            f"above {limit:.0f} bpm: do not start the session; contact the patient",
        )
    return INACTIVE


def _not_rising(s: Snapshot) -> Verdict:
    if s.rest_hr_bpm is None or s.session_max_hr_bpm is None:
        return UNKNOWN
    if s.thresholds.beta_blocker:
        return INACTIVE  # a blunted response is expected under beta-blockade (CLINICAL.md 2.1)
    target = s.rest_hr_bpm + const.NOT_RISING_MARGIN_BPM
    if s.session_elapsed_s >= const.NOT_RISING_AFTER_S and s.session_max_hr_bpm < target:
        return Verdict(
            True,
            s.session_max_hr_bpm,
            target,
            message=f"heart rate has not risen above "
            f"{s.session_max_hr_bpm:.0f} bpm in {s.session_elapsed_s / 60:.0f} min: inappropriate "
            "response to exercise; check on the patient",
        )
    return INACTIVE


def _irregular(s: Snapshot) -> Verdict:
    if not s.rhythm_irregular:
        return INACTIVE
    fast = s.hr_bpm is not None and s.hr_bpm > const.FAST_AF_HR_BPM
    return Verdict(
        True,
        s.hr_bpm,
        const.FAST_AF_HR_BPM if fast else None,
        tier="urgent" if fast else None,
        message="irregular rhythm with a fast heart rate: stop exercising; record an ECG"
        if fast
        else "irregular rhythm, record an ECG",
    )


def _signal_lost(s: Snapshot) -> Verdict:
    limit = s.thresholds.signal_lost_s
    age = s.valid_age_s
    if age is None:
        return UNKNOWN
    if age >= limit:
        tier: Tier = "urgent" if s.exercising else "nurse"
        assert s.last_valid_ns is not None
        return Verdict(
            True,
            age,
            limit,
            tier=tier,
            since_ns=s.last_valid_ns + int(limit * 1e9),
            message=f"no heart-rate signal for {age:.0f} s: unable to monitor"
            + (" during exercise; stop and check the strap" if s.exercising else ""),
        )
    return INACTIVE


def _no_contact(s: Snapshot) -> Verdict:
    if s.sensor_contact is None:
        return UNKNOWN
    if s.sensor_contact is False:
        return Verdict(True, message="the strap reports no skin contact: check your strap (moisten the electrodes)")
    return INACTIVE


def _low_battery(s: Snapshot) -> Verdict:
    if s.battery_pct is None:
        return UNKNOWN
    if s.battery_pct <= s.thresholds.low_battery_pct:
        critical = s.battery_pct <= const.CRITICAL_BATTERY_PCT
        return Verdict(
            True,
            float(s.battery_pct),
            float(s.thresholds.low_battery_pct),
            tier="nurse" if critical else None,
            message=f"strap battery at {s.battery_pct} %: charge or replace it"
            + (" (monitoring may stop)" if critical else ""),
        )
    return INACTIVE if s.battery_pct >= const.BATTERY_CLEAR_PCT else UNKNOWN


RULES: tuple[Rule, ...] = (
    Rule(
        "above_ceiling",
        "patient_cue",
        _above_ceiling,
        lambda t: t.ceiling_grace_s,
        clear_after_s=10.0,
        escalate_after_s=const.CEILING_ESCALATE_S,
        escalate_to="nurse",
        report_worsening=True,
    ),
    Rule("above_absolute_limit", "nurse", _above_absolute, lambda t: 5.0, clear_after_s=15.0, report_worsening=True),
    Rule("do_not_start", "nurse", _do_not_start, lambda t: 30.0, clear_after_s=60.0),
    Rule("inappropriate_response", "nurse", _not_rising, lambda t: 60.0, clear_after_s=30.0),
    Rule("irregular_rhythm", "nurse", _irregular, lambda t: 0.0, clear_after_s=const.IRREGULAR_CLEAR_S),
    Rule("signal_lost", "urgent", _signal_lost, lambda t: 0.0, clear_after_s=3.0),
    Rule("no_contact", "patient_cue", _no_contact, lambda t: const.NO_CONTACT_CUE_S, clear_after_s=3.0),
    Rule("low_battery", "patient_cue", _low_battery, lambda t: 0.0, clear_after_s=0.0, session_only=False),
)
RULES_BY_NAME = {r.name: r for r in RULES}
