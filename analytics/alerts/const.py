"""Default alert thresholds, each with its source. Clinicians override them per patient (``AlertThresholdsV1``).

Tiers follow CLINICAL.md 2.3: *patient cue* (pause / adjust, shown to the patient), *nurse* (stop + nurse alert),
*urgent* (ACSM absolute stop criteria).
"""

from __future__ import annotations

from typing import Final

ABSOLUTE_LIMIT_BPM: Final = 140.0
"""Stop + nurse alert above 140 bpm (Japanese CR stop criteria, via Anderson–Doi modified criteria; CLINICAL.md
2.3) or above the patient's measured peak, whichever is lower."""
DO_NOT_START_REST_HR_BPM: Final = 120.0
"""Do not start exercise with resting HR >= 120 bpm (Anderson–Doi modified criteria; CLINICAL.md 2.3)."""
CEILING_GRACE_S: Final = 20
"""Seconds above the prescribed ceiling before the patient is cued to ease off. CLINICAL.md 2.3 says "for >N s"
without a value; 20 s spans the HR overshoot of an interval start (about 2-3 respiratory cycles of a rising
trace) so that a brief overshoot is not a cue. Clinician-configurable."""
CEILING_ESCALATE_S: Final = 60
"""If the patient is still above the ceiling 60 s after the cue, the nurse is alerted (cue not acted on)."""
CEILING_CLEAR_MARGIN_BPM: Final = 3.0
"""Hysteresis: the ceiling alert clears only below ceiling − 3 bpm, so HR hovering at the ceiling does not
flap (about the beat-to-beat noise of a 1 Hz strap HR)."""
SIGNAL_LOST_S: Final = 8.0
"""Technical inability to monitor is an absolute stop criterion (ACSM via ExRx; CLINICAL.md 2.3). Eight missed
1 Hz notifications, so that with the worker's 1 s clock tick the alarm is raised within 10 s of the last beat:
"seconds, not minutes" (Nightscout stale-data alarms, CLINICAL.md 4.2)."""
NO_CONTACT_CUE_S: Final = 3.0
"""A strap reporting no skin contact for 3 s gets a "check your strap" cue (three notifications in a row)."""
LOW_BATTERY_PCT: Final = 15
"""Cue the patient to charge the strap at 15 % (Polar H10 coin cell: a session or two left)."""
CRITICAL_BATTERY_PCT: Final = 5
"""Tell the nurse at 5 %: monitoring may stop mid-session."""
BATTERY_CLEAR_PCT: Final = 20
"""Hysteresis for the battery alert (a new or recharged battery)."""
FAST_AF_HR_BPM: Final = 110.0
"""Irregular rhythm with HR above 110 bpm is treated as AF with fast ventricular response, an ACSM absolute stop
criterion (urgent). 110 bpm is the rate-control target of AF guidelines (lenient rate control, RACE II)."""
IRREGULAR_CLEAR_S: Final = 120.0
"""The rhythm flag must stay clear for 2 minutes before the alert clears (the screen is debounced over windows
of about a minute; a shorter clear would flap with paroxysms)."""
NOT_RISING_AFTER_S: Final = 600.0
"""Inappropriate response: 10 minutes into a session (after a typical warm-up) HR has not risen ..."""
NOT_RISING_MARGIN_BPM: Final = 10.0
"""... by at least 10 bpm above the session's resting HR (HR fails to rise as load rises; CLINICAL.md 2.3,
chronotropic incompetence)."""
SESSION_GAP_S: Final = 120.0
"""No data for 2 minutes ends a session (the strap was taken off); alerts of the session clear."""
