"""The one instruction the patient sees (``features.v1`` ``cue``), from zone, phase, signal and alerts."""

from __future__ import annotations

from collections.abc import Collection

from analytics.events import Cue
from analytics.physiology.phases import Phase
from analytics.physiology.quality import SignalState
from analytics.physiology.zones import Zone

STOP_RULES = frozenset({"above_absolute_limit", "do_not_start"})
# Enum members bound once: this runs for every patient every second.
_STRAP_SIGNALS = frozenset({SignalState.NO_CONTACT, SignalState.LOST, SignalState.STALE})
_NO_DATA, _ABOVE_CEILING, _ABOVE_BAND = Zone.NO_DATA, Zone.ABOVE_CEILING, Zone.ABOVE_BAND
_SLOW_ZONES = frozenset({Zone.BELOW_BAND, Zone.VERY_LIGHT})
_RESTING = frozenset({Phase.REST, Phase.UNKNOWN})
_COOL_DOWN, _RECOVERY, _EXERCISE = Phase.COOL_DOWN, Phase.RECOVERY, Phase.EXERCISE


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
    if urgent or (active_rules and not STOP_RULES.isdisjoint(active_rules)):
        return "stop"
    if signal in _STRAP_SIGNALS or zone == _NO_DATA:
        return "check_strap"
    if zone == _ABOVE_CEILING or (active_rules and "above_ceiling" in active_rules):
        return "ease_off"
    if phase == _COOL_DOWN:
        return "cool_down"
    if phase in _RESTING and not exercise_seen:
        return "rest"
    if phase == _RECOVERY:
        return "rest"
    if zone == _ABOVE_BAND:
        return "keep_going" if beta_blocker else "ease_off"
    if zone in _SLOW_ZONES and phase == _EXERCISE and not beta_blocker:
        return "speed_up"
    return "keep_going"
