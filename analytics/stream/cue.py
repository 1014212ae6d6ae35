"""The one instruction the patient sees (``features.v1`` ``cue``), from zone, phase, signal and alerts."""

from __future__ import annotations

from collections.abc import Collection

from analytics.events import Cue
from analytics.physiology.phases import Phase
from analytics.physiology.quality import SignalState
from analytics.physiology.zones import Zone

STOP_RULES = frozenset({"above_absolute_limit", "do_not_start"})


def cue_for(
    *,
    zone: Zone,
    phase: Phase,
    signal: SignalState,
    exercise_seen: bool,
    beta_blocker: bool,
    active_rules: Collection[str],
    urgent: bool,
) -> Cue:
    """Patient guidance, most important first.

    Under beta-blockade the HR band is informational (CLINICAL.md 2.1: RPE is the target, HR only a ceiling), so
    below or above the band the cue is "keep going" (by feel) and only the ceiling asks to ease off.
    """
    if urgent or STOP_RULES & set(active_rules):
        return "stop"
    if signal in (SignalState.NO_CONTACT, SignalState.LOST, SignalState.STALE) or zone == Zone.NO_DATA:
        return "check_strap"
    if zone == Zone.ABOVE_CEILING or "above_ceiling" in active_rules:
        return "ease_off"
    if phase == Phase.COOL_DOWN:
        return "cool_down"
    if phase in (Phase.REST, Phase.UNKNOWN) and not exercise_seen:
        return "rest"
    if phase == Phase.RECOVERY:
        return "rest"
    if zone == Zone.ABOVE_BAND:
        return "keep_going" if beta_blocker else "ease_off"
    if zone in (Zone.BELOW_BAND, Zone.VERY_LIGHT) and phase == Phase.EXERCISE and not beta_blocker:
        return "speed_up"
    return "keep_going"
