"""Physiology constants, each with its unit in the name and the reason or source for its value.

Per-patient thresholds (target band, ceiling, resting and peak HR) come from the :class:`Prescription`, never
from this module. Values here are method parameters and population-level defaults.
"""

from __future__ import annotations

from typing import Final

# --- Time base -------------------------------------------------------------------------------------------
MS_PER_S: Final = 1000.0
S_PER_MIN: Final = 60.0
MS_PER_MIN: Final = 60_000.0
HR_SAMPLE_PERIOD_S: Final = 1.0
"""The live processor and the batch functions both work on a 1 Hz heart-rate trace (ARCHITECTURE.md)."""

# --- Plausibility (signal quality) -----------------------------------------------------------------------
MIN_PLAUSIBLE_HR_BPM: Final = 20.0
"""Below 20 bpm a chest strap is reporting noise, not a rhythm a patient exercising at home can have."""
MAX_PLAUSIBLE_HR_BPM: Final = 250.0
"""Above 250 bpm is beyond adult sinus or fast-AF rates; treated as implausible, not as a measurement."""
MIN_PLAUSIBLE_RR_MS: Final = 240.0
"""60000 / 250 bpm."""
MAX_PLAUSIBLE_RR_MS: Final = 3000.0
"""60000 / 20 bpm; longer intervals are gaps (lost beats or pauses) that artefact correction cannot repair."""

# --- Lipponen & Tarvainen (2019) artefact correction -----------------------------------------------------
LT_ALPHA: Final = 5.2
"""Threshold multiplier on the quartile deviation (Lipponen & Tarvainen 2019)."""
LT_C1: Final = 0.13
"""Ectopic decision-boundary slope (Lipponen & Tarvainen 2019)."""
LT_C2: Final = 0.17
"""Ectopic decision-boundary offset (Lipponen & Tarvainen 2019)."""
LT_WINDOW_BEATS: Final = 91
"""Window for the time-varying thresholds, centred on the beat (Lipponen & Tarvainen 2019)."""
LT_MEDIAN_BEATS: Final = 11
"""Median filter length for the mRR series (Lipponen & Tarvainen 2019)."""
LT_DRR_LIMIT: Final = 1.0
"""Normalised |dRR| above which a beat is examined (Lipponen & Tarvainen 2019, Fig. 1)."""
LT_MRR_LIMIT: Final = 3.0
"""Normalised |mRR| above which a beat is long or short (Lipponen & Tarvainen 2019, Fig. 1)."""
LT_MIN_THRESHOLD_FRACTION: Final = 0.05
"""Floor on both time-varying thresholds, as a fraction of the local 11-beat median RR (40 ms at 800 ms). Not
in the paper: on metronomic or coarsely quantised series (Holter 128 Hz = 7.8-ms steps) the quartile deviation
is a few ms and timing jitter would become "ectopic beats"; a true premature beat is >= 10 % early. Measured
on nsr2db (nsr001/004/009) and mitdb sinus records (103/112/122): a fixed 20-ms floor flagged 0.3-5.3 % of
beats, this floor 0.3-1.7 %."""
LT_INTERP_REACH_BEATS: Final = 5
"""How far (beats) to look on each side for a normal interval to interpolate from; half the median filter, so
a beat with no normal neighbour within reach takes the local median instead."""

# --- HRV ---------------------------------------------------------------------------------------------------
NN50_THRESHOLD_MS: Final = 50.0
"""pNN50: successive differences above 50 ms (Task Force 1996)."""
REST_WINDOW_S: Final = 300.0
"""Short-term HRV is reported over 5-minute resting windows (Task Force 1996; CLINICAL.md 2.6)."""
MIN_REST_WINDOW_S: Final = 60.0
"""Shortest rest window still reported (flagged as short); ultra-short RMSSD is usable from 60 s."""
MIN_HRV_BEATS: Final = 10
"""Fewer intervals than this give no meaningful SDNN or RMSSD."""

# --- Prescription defaults (CLINICAL.md 2.1) -------------------------------------------------------------
KARVONEN_LOW_FRACTION: Final = 0.40
"""Low-moderate band, 40-60 % HRR (JCM 2021 Table 3)."""
KARVONEN_HIGH_FRACTION: Final = 0.60
PCT_PEAK_LOW_FRACTION: Final = 0.65
"""Low-moderate band, 65-75 % HRpeak (JCM 2021 Table 3)."""
PCT_PEAK_HIGH_FRACTION: Final = 0.75
CEILING_HRR_FRACTION: Final = 0.70
"""Default ceiling: the top of the moderate-high band, 70 % HRR (JCM 2021 Table 3)."""
ISCHAEMIC_MARGIN_BPM: Final = 10.0
"""Keep the upper HR at least 10 bpm below a known ischaemic threshold (ACSM [verify])."""
THRESHOLD_BAND_BELOW_BPM: Final = 10.0
"""Threshold method: band from VT1 - 10 bpm up to VT1 (Mezzani 2012 prefer VT1-anchored targets)."""
FALLBACK_LOW_ABOVE_REST_BPM: Final = 20.0
"""No measured peak: flagged fallback band RHR+20 .. RHR+30 bpm (Keteyian; Joo 2004)."""
FALLBACK_HIGH_ABOVE_REST_BPM: Final = 30.0
FOX_INTERCEPT_BPM: Final = 220.0
"""220 - age, only ever used flagged, for TRIMP normalisation when no measured peak exists."""
RPE_TARGET_LOW: Final = 12
"""Borg 6-20 target 12-14 for low-moderate intensity (JCM 2021 Table 3)."""
RPE_TARGET_HIGH: Final = 14
BORG_MIN: Final = 6
BORG_MAX: Final = 20
CR10_MIN: Final = 0
CR10_MAX: Final = 10

# --- Training load (CLINICAL.md 2.5) ---------------------------------------------------------------------
BANISTER_A: Final = 0.64
"""Banister TRIMP weighting coefficient (Banister 1991)."""
BANISTER_K_MALE: Final = 1.92
BANISTER_K_FEMALE: Final = 1.67
EDWARDS_ZONE_LOWER_FRACTIONS: Final = (0.5, 0.6, 0.7, 0.8, 0.9)
"""Edwards (1993) zones: 50-60, 60-70, 70-80, 80-90, 90-100 % HRmax, weights 1..5."""
MAX_INTEGRATION_GAP_S: Final = 5.0
"""Do not integrate load across gaps longer than this: the missing seconds are unknown, not zero."""

# --- Session phases ----------------------------------------------------------------------------------------
PHASE_SMOOTHING_S: Final = 15
"""Trailing mean over 15 s so single-beat noise does not flip the phase."""
PHASE_REST_HRR_FRACTION: Final = 0.20
"""Below 20 % HRR the patient is at rest level (RHR+20 ~ 40 % VO2R is already light work: Joo 2004)."""
PHASE_EXERCISE_HRR_FRACTION: Final = 0.35
"""At or above 35 % HRR counts as exercise: just under the 40 % HRR floor of the CR band (JCM 2021 Table 3)."""
PHASE_EXIT_HYSTERESIS_HRR_FRACTION: Final = 0.05
"""Leave exercise only 5 % HRR below the entry level, so a brief dip does not end the bout."""

# --- Recovery (CLINICAL.md 2.4) ----------------------------------------------------------------------------
HRR1_ABNORMAL_BPM: Final = 12.0
"""HRR1 <= 12 bpm is abnormal (Cole et al. NEJM 1999)."""
HRR2_ABNORMAL_BPM: Final = 42.0
"""HRR2 <= 42 bpm is abnormal after a submaximal test (Cole et al. Ann Intern Med 2000)."""
RECOVERY_PEAK_WINDOW_S: Final = 600
"""Peak HR at exercise end: maximum over the 10 min before the detected exit. The exit is detected when the
15-s mean falls below the exercise level, which a slowly recovering (abnormal) patient may take minutes to do."""
RECOVERY_PEAK_TOLERANCE_BPM: Final = 2.0
"""Recovery is timed from the last second within 2 bpm of that peak: the end of effort on a plateau."""
RECOVERY_SAMPLE_HALF_WIDTH_S: Final = 2
"""HR at 60 s / 120 s is the mean of a 5-s window centred there, robust to one bad second."""
CHRONOTROPIC_INCOMPETENCE_FRACTION: Final = 0.80
"""Less than 80 % of heart-rate reserve used at peak (CLINICAL.md 2.3; Cole NEJM 1999)."""

# --- Rhythm screening (CLINICAL.md 2.7) ----------------------------------------------------------------------
RHYTHM_WINDOW_BEATS: Final = 64
"""Window length; Dash 2009 used 128 beats, the README sanity check 64 beats; 64 reacts twice as fast."""
DASH_NRMSSD_MIN: Final = 0.1
"""RMSSD / mean RR above 0.1 (Dash 2009, thresholds as in KhanhLinh-2904/Automatic_AF_Detection)."""
DASH_TPR_LOW: Final = 0.54
DASH_TPR_HIGH: Final = 0.77
"""Turning-point ratio within [0.54, 0.77], the 95 % band of a random series (Dash 2009). Reported for each
window but NOT part of the decision: on the PhysioNet AF windows here (64 beats, corrected) 10 % had TPR < 0.52,
and requiring it cost 17 points of window sensitivity for 2.5 points of specificity (tests/.../test_rhythm.py)."""
COSEN_TOLERANCE_MS: Final = 30.0
"""COSEn template tolerance r = 30 ms, template length m = 1 (Lake & Moorman 2011)."""
COSEN_MIN: Final = -1.4
"""COSEn above -1.4 suggests AF (Lake & Moorman 2011). Rejects patterned ectopy (bigeminy, trigeminy), which
is irregular but predictable and so has low sample entropy."""
DASH_SHANNON_MIN: Final = 0.7
"""Normalised Shannon entropy above 0.7 (Dash 2009)."""
DASH_HIST_BINS: Final = 16
"""Histogram bins for the Shannon entropy (Dash 2009)."""
DASH_OUTLIERS_PER_SIDE: Final = 8
"""Dash 2009 drops the 8 largest and 8 smallest of 128 intervals; scaled to the window length here."""
DASH_REFERENCE_WINDOW_BEATS: Final = 128
RHYTHM_MAX_TREND_FRACTION: Final = 0.10
"""Steady state: mean RR of the two window halves differ by less than 10 % (no ramp, CLINICAL.md 2.7)."""
RHYTHM_MAX_CORRECTED_FRACTION: Final = 0.20
"""Windows where more than 20 % of beats were corrected are too noisy to screen."""
RHYTHM_DEBOUNCE_WINDOWS: Final = 3
"""Raise after 3 consecutive irregular windows and clear after 3 consecutive regular ones (CLINICAL.md 2.7)."""
RHYTHM_SCREEN_MESSAGE: Final = "irregular rhythm, record an ECG"
"""A screen, never a diagnosis (CLINICAL.md key conclusions)."""

# --- Signal quality ----------------------------------------------------------------------------------------
STALE_SIGNAL_S: Final = 5.0
"""No data for 5 s: the live view is stale (stale-data alarms in seconds, CLINICAL.md 5)."""
LOST_SIGNAL_S: Final = 30.0
"""No data for 30 s: monitoring lost, 'technical inability to monitor' (ACSM absolute stop criterion)."""
NO_CONTACT_S: Final = 3.0
"""Strap reports no skin contact for 3 consecutive seconds."""
QUALITY_WINDOW_S: Final = 60.0
"""Artefact and plausibility rates are judged over the last minute."""
DEGRADED_ARTEFACT_FRACTION: Final = 0.05
"""More than 5 % corrected beats: HRV error grows past the <2 % reported by Lipponen & Tarvainen 2019."""
DEGRADED_IMPLAUSIBLE_FRACTION: Final = 0.05
DEGRADED_MISSING_FRACTION: Final = 0.10
"""More than 10 % of the seconds in the window without a heart-rate reading."""

# --- ECG (Polar H10) ---------------------------------------------------------------------------------------
H10_ECG_FS_HZ: Final = 130.0
ECG_BANDPASS_LOW_HZ: Final = 5.0
ECG_BANDPASS_HIGH_HZ: Final = 20.0
"""QRS energy sits in 5-20 Hz (Pan & Tompkins 1985 used 5-15 Hz; 20 Hz keeps sharper QRS at 130 Hz)."""
ECG_REFRACTORY_S: Final = 0.25
"""No second R peak within 250 ms (max 240 bpm)."""
ECG_QRS_SMOOTH_S: Final = 0.1
ECG_BASELINE_SMOOTH_S: Final = 0.75
ECG_QRS_THRESHOLD_FACTOR: Final = 1.5
"""QRS where smoothed gradient exceeds 1.5x its 0.75-s average (Makowski et al. 2021, NeuroKit2 method)."""
ECG_MIN_QRS_S: Final = 0.03
ECG_SNIPPET_PRE_S: Final = 15.0
ECG_SNIPPET_POST_S: Final = 15.0
"""A 30-s ECG strip around a flag: ESC asks for >= 30 s of ECG to document AF [verify]."""
