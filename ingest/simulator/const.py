"""Constants of the patient simulator, each with its unit and the reason for its value.

These shape synthetic data for demos and tests; they are not clinical thresholds. "[verify]" marks values chosen
to be plausible that were not checked against a primary source.
"""

from __future__ import annotations

from typing import Final

# --- heart-rate dynamics ---
# β-blockade blunts the chronotropic response: the simulated HR reserve is scaled by this factor. Peak HR on
# β-blockers is typically 20-30 % lower than off them [verify]; 0.75 sits in that range.
BETA_BLOCKER_RESERVE_FACTOR: Final = 0.75
# First-order HR kinetics: on-transients of cardiac patients take ~30-60 s, off-transients a little longer
# [verify]. Scenario files may override them per patient.
DEFAULT_HR_ON_TAU_S: Final = 40.0
DEFAULT_HR_OFF_TAU_S: Final = 60.0
# Fastest recovery time constant, used when a configured HRR1 cannot be reached from the HR at exercise end.
MIN_RECOVERY_TAU_S: Final = 5.0
RECOVERY_WINDOW_S: Final = 60.0  # HRR1 is the drop in the first minute of recovery (Cole, NEJM 1999)

# --- beat-to-beat variability ---
# Vagal withdrawal during exercise shrinks RR variability to ~10 % of its resting size near peak [verify]; the
# factor falls quadratically with the fraction of HR reserve in use.
VARIABILITY_FLOOR: Final = 0.1
DEFAULT_RSA_AMPLITUDE_MS: Final = 20.0  # respiratory sinus arrhythmia, half peak-to-peak at rest
DEFAULT_RR_NOISE_MS: Final = 12.0  # SD of the non-respiratory beat-to-beat noise at rest
RESP_RATE_REST_PER_MIN: Final = 12.0  # breaths/min at rest
RESP_RATE_PEAK_PER_MIN: Final = 30.0  # breaths/min near peak exercise
MIN_RR_S: Final = 0.25  # 240 bpm: no simulated interval is shorter

# --- ectopy and irregular rhythm ---
# A premature beat comes at 55-75 % of the sinus interval and is followed by a full compensatory pause
# (premature + pause = 2 sinus intervals), the classic PVC pattern.
ECTOPIC_COUPLING_MIN: Final = 0.55
ECTOPIC_COUPLING_MAX: Final = 0.75
# AF-like episodes: RR drawn independently (irregularly irregular) from a log-normal whose SD of log(RR) is
# 0.22, giving RMSSD/mean RR of about 0.3, well above the 0.1 cut-off of Dash 2009; the ventricular rate runs
# ~15 % above sinus.
AF_LOG_RR_SD: Final = 0.22
AF_RATE_FACTOR: Final = 1.15

# --- strap ---
# Straps report a smoothed HR; an exponential average over beats with weight 0.3 follows changes within ~3 beats.
STRAP_HR_EMA_WEIGHT: Final = 0.3
# A spurious (extra) detection splits a true interval at 30-70 % of its length.
EXTRA_BEAT_SPLIT_MIN: Final = 0.3
EXTRA_BEAT_SPLIT_MAX: Final = 0.7
# Energy expended from HR: METs rise linearly from 1 at rest to the patient's peak METs at peak HR; 1 MET is
# 3.5 ml O2/kg/min and 1 l O2 releases ~20.1 kJ (Jetté 1990; Weir 1949 [verify]).
ML_O2_PER_KG_MIN_PER_MET: Final = 3.5
KJ_PER_L_O2: Final = 20.1
DEFAULT_WEIGHT_KG: Final = 80.0
DEFAULT_PEAK_METS: Final = 6.0  # typical peak capacity of a cardiac-rehab patient [verify]
DEFAULT_BATTERY_START_PCT: Final = 100.0
DEFAULT_BATTERY_DRAIN_PCT_PER_H: Final = 2.0  # a coin-cell strap lasts days, not hours [verify]

# --- ECG (Polar H10 style) ---
ECG_NOISE_UV: Final = 12.0  # SD of the electrode/amplifier noise with good contact
ECG_MOTION_NOISE_UV: Final = 150.0  # SD added during motion-artefact episodes
ECG_NO_CONTACT_NOISE_UV: Final = 400.0  # SD of what a strap off the skin picks up
ECG_AF_WAVE_UV: Final = 40.0  # amplitude of the fibrillatory waves that replace P waves in AF
ECG_AF_WAVE_HZ: Final = 6.0  # f-waves run at ~350-600/min [verify]; 6 Hz is below Nyquist at 130 Hz
ECG_AMPLITUDE_SD: Final = 0.15  # between-patient SD of the ECG amplitude scale (fraction)
