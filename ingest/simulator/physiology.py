"""Per-patient heart-rate physiology, vectorised across patients: true beats and true RR, one second at a time.

Model, per patient (pure numpy, seeded, no clock):

- **Mean HR** follows first-order kinetics towards ``rest + k * reserve``, where ``k`` is the phase intensity and
  ``reserve = peak - rest``, scaled by :data:`~ingest.simulator.const.BETA_BLOCKER_RESERVE_FACTOR` under
  β-blockade. Rising uses ``hr_on_tau_s``, falling ``hr_off_tau_s``. When exercise ends (the first ``cool_down``
  or ``recovery`` phase after an exercise phase) the time constant is solved so that HR falls by exactly
  ``hrr1_bpm`` in the first minute, ``tau = -60 / ln(1 - HRR1 / (HR0 - target))``, and kept for the rest of the
  post-exercise phases. As in Cole 1999 the first minute may be an active cool-down; the target must stay
  constant during that minute and lie more than HRR1 below the HR at exercise end, or recovery is simply as fast
  as allowed.
- **Sinus RR** = 60/HR(t) + RSA + noise. RSA is a sine at the breathing rate (12 to 30 /min with effort); RSA and
  noise shrink as ``floor + (1 - floor) * (1 - x)^2`` with ``x`` the fraction of reserve in use, so RR
  variability falls as HR rises.
- **Ectopy**: a sinus beat is followed by a premature beat with probability ``rate * RR / 60`` (so the rate per
  minute matches the configured one); coupling 55-75 % of RR, then a full compensatory pause.
- **Irregular rhythm** (AF-like) episodes: RR drawn independently from a log-normal around a faster mean rate
  (irregularly irregular, no RSA).

References
----------
Cole CR et al. Heart-rate recovery immediately after exercise as a predictor of mortality. NEJM 1999;341:1351-7.
Dash S et al. Automatic real time detection of atrial fibrillation. Ann Biomed Eng 2009;37:1701-9.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ingest.simulator import const
from ingest.simulator.scenario import Scenario

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]
B = npt.NDArray[np.bool_]

BEAT_NORMAL = 0  # sinus beat (including the beat that ends a compensatory pause)
BEAT_ECTOPIC = 1  # premature ectopic beat
BEAT_IRREGULAR = 2  # beat during an irregular-rhythm (AF-like) episode
POST_EXERCISE_KINDS = ("cool_down", "recovery")
_TWO_PI = 2.0 * np.pi


@dataclass(frozen=True, slots=True)
class PatientParameters:
    """The values one simulated patient was drawn with (scenario values plus between-patient variation)."""

    resting_hr_bpm: float
    peak_hr_bpm: float
    effective_peak_hr_bpm: float  # the peak this patient can reach: blunted under β-blockade
    hrr1_bpm: float
    beta_blocker: bool
    ectopy_per_min: float
    ecg_amplitude_scale: float


def draw_parameters(scenarios: Sequence[Scenario], rng: np.random.Generator) -> list[PatientParameters]:
    """Draw one patient per scenario entry (same order), applying the scenario's between-patient SDs."""
    out = []
    z = rng.standard_normal((len(scenarios), 4))
    for s, row in zip(scenarios, z, strict=True):
        p, v = s.patient, s.variation
        rest = float(np.clip(p.resting_hr_bpm + v.resting_hr_bpm * row[0], 40.0, 120.0))
        peak = float(max(p.peak_hr_bpm + v.peak_hr_bpm * row[1], rest + 20.0))
        factor = const.BETA_BLOCKER_RESERVE_FACTOR if p.beta_blocker else 1.0
        out.append(
            PatientParameters(
                resting_hr_bpm=rest,
                peak_hr_bpm=peak,
                effective_peak_hr_bpm=rest + factor * (peak - rest),
                hrr1_bpm=float(np.clip(p.hrr1_bpm + v.hrr1_bpm * row[2], 0.0, 80.0)),
                beta_blocker=p.beta_blocker,
                ectopy_per_min=p.ectopy_per_min,
                ecg_amplitude_scale=float(max(0.5, 1.0 + const.ECG_AMPLITUDE_SD * row[3])),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class StepInputs:
    """What the scenarios prescribe for every patient in one second."""

    intensity: F64
    phase_index: I64
    post_exercise: B  # a cool-down or recovery phase is running
    exercise_ended: B  # first second after exercise: solve the recovery time constant now
    irregular: B
    artefacts_per_min: F64
    contact_loss: B
    dropout: B


class Timeline:
    """Per-second tables of every distinct scenario, so a step is a few gathers whatever the fleet size."""

    def __init__(self, scenarios: Sequence[Scenario], scenario_index: I64) -> None:
        self.scenario_index = scenario_index
        self.durations = np.array([s.duration_s for s in scenarios], dtype=np.int64)
        width = int(self.durations.max()) + 1
        shape = (len(scenarios), width)
        self.intensity = np.zeros(shape)
        self.phase_index = np.zeros(shape, dtype=np.int64)
        self.post_exercise = np.zeros(shape, dtype=np.bool_)
        self.exercise_ended = np.zeros(shape, dtype=np.bool_)
        self.irregular = np.zeros(shape, dtype=np.bool_)
        self.artefacts = np.zeros(shape)
        self.contact_loss = np.zeros(shape, dtype=np.bool_)
        self.dropout = np.zeros(shape, dtype=np.bool_)
        for row, s in enumerate(scenarios):
            start = 0
            previous_post = True  # a session that opens with a recovery phase has no exercise to end
            for index, phase in enumerate(s.phases):
                t = np.arange(phase.duration_s)
                span = slice(start, start + phase.duration_s)
                ramp = (t + 0.5) / phase.duration_s
                post = phase.kind in POST_EXERCISE_KINDS
                self.intensity[row, span] = phase.intensity + (phase.end_intensity - phase.intensity) * ramp
                self.phase_index[row, span] = index
                self.post_exercise[row, span] = post
                self.exercise_ended[row, start] = post and not previous_post
                previous_post = post or phase.kind == "rest"
                start += phase.duration_s
            # After the session the last phase continues at its final intensity, with no episodes.
            last = s.phases[-1]
            self.intensity[row, start:] = last.end_intensity
            self.phase_index[row, start:] = len(s.phases) - 1
            self.post_exercise[row, start:] = last.kind in POST_EXERCISE_KINDS
            for flags, episodes in (
                (self.irregular, s.irregular_rhythm),
                (self.contact_loss, s.contact_loss),
                (self.dropout, s.dropouts),
            ):
                for e in episodes:
                    flags[row, e.start_s : min(e.end_s, start)] = True
            for a in s.motion_artefacts:
                self.artefacts[row, a.start_s : min(a.end_s, start)] = a.artefacts_per_min

    def at(self, k: int) -> StepInputs:
        rows = np.minimum(k, self.durations)
        cols = np.arange(len(self.durations))
        idx = self.scenario_index

        def pick(table: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
            return table[cols, rows][idx]

        return StepInputs(
            intensity=pick(self.intensity).astype(np.float64),
            phase_index=pick(self.phase_index).astype(np.int64),
            post_exercise=pick(self.post_exercise).astype(np.bool_),
            exercise_ended=pick(self.exercise_ended).astype(np.bool_),
            irregular=pick(self.irregular).astype(np.bool_),
            artefacts_per_min=pick(self.artefacts).astype(np.float64),
            contact_loss=pick(self.contact_loss).astype(np.bool_),
            dropout=pick(self.dropout).astype(np.bool_),
        )


@dataclass(frozen=True, slots=True)
class StepBeats:
    """The true beats of one second; ``ranks[r]`` holds each patient's r-th beat of the second (one at most).

    Arrays in a rank: patient index, beat time (local s), true RR ending at the beat (s), beat label.
    """

    ranks: tuple[tuple[I64, F64, F64, I8], ...]
    hr_end_bpm: F64


def recovery_tau_s(hr_start_bpm: F64, target_bpm: F64, hrr1_bpm: F64) -> F64:
    """Time constant that makes HR fall by ``hrr1_bpm`` in the first 60 s of recovery (first-order kinetics).

    References
    ----------
    Cole CR et al. NEJM 1999;341:1351-7 (HRR1 = peak HR minus HR one minute into recovery).
    """
    span = hr_start_bpm - target_bpm
    fraction = np.divide(hrr1_bpm, span, out=np.ones_like(span), where=span > 0)
    reachable = fraction < 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = -const.RECOVERY_WINDOW_S / np.log1p(-np.where(reachable, fraction, 0.5))
    return np.where(reachable, np.maximum(tau, const.MIN_RECOVERY_TAU_S), const.MIN_RECOVERY_TAU_S)


class BeatEngine:
    """Mutable per-patient state, advanced one second per :meth:`step`; every draw comes from ``rng``."""

    def __init__(
        self, scenarios: Sequence[Scenario], params: Sequence[PatientParameters], rng: np.random.Generator
    ) -> None:
        n = len(params)
        self.rng = rng
        self.rest = np.array([p.resting_hr_bpm for p in params])
        self.reserve = np.array([p.effective_peak_hr_bpm - p.resting_hr_bpm for p in params])
        self.hrr1 = np.array([p.hrr1_bpm for p in params])
        self.ectopy_per_s = np.array([p.ectopy_per_min for p in params]) / 60.0
        self.rsa_s = np.array([s.patient.rsa_amplitude_ms for s in scenarios]) / 1000.0
        self.noise_s = np.array([s.patient.rr_noise_ms for s in scenarios]) / 1000.0
        self.tau_on = np.array([s.patient.hr_on_tau_s for s in scenarios])
        self.tau_off = np.array([s.patient.hr_off_tau_s for s in scenarios])
        first = [s.phases[0].intensity for s in scenarios]
        self.hr = self.rest + self.reserve * np.array(first)
        self.tau_recovery = np.full(n, const.DEFAULT_HR_OFF_TAU_S)
        rr0 = 60.0 / self.hr
        self.next_beat = rng.random(n) * rr0
        self.last_beat = self.next_beat - rr0
        self.next_label = np.zeros(n, dtype=np.int8)
        self.pause_rr = np.zeros(n)
        self.pause_pending = np.zeros(n, dtype=np.bool_)
        self.resp_phase = rng.random(n) * _TWO_PI

    def step(self, k: int, inputs: StepInputs) -> StepBeats:
        rng = self.rng
        target = self.rest + self.reserve * inputs.intensity
        ended = inputs.exercise_ended
        if ended.any():
            self.tau_recovery[ended] = recovery_tau_s(self.hr[ended], target[ended], self.hrr1[ended])
        rising = target > self.hr
        tau = np.where(inputs.post_exercise & ~rising, self.tau_recovery, np.where(rising, self.tau_on, self.tau_off))
        x0 = np.clip((self.hr - self.rest) / self.reserve, 0.0, 1.0)
        resp_span = const.RESP_RATE_PEAK_PER_MIN - const.RESP_RATE_REST_PER_MIN
        resp_hz = (const.RESP_RATE_REST_PER_MIN + resp_span * x0) / 60.0
        coupling_span = const.ECTOPIC_COUPLING_MAX - const.ECTOPIC_COUPLING_MIN
        t_end = float(k + 1)
        ranks = []
        active = np.flatnonzero(self.next_beat < t_end)
        while active.size:
            tb = self.next_beat[active]
            ranks.append((active, tb, tb - self.last_beat[active], self.next_label[active]))
            self.last_beat[active] = tb
            dt = tb - k
            tgt = target[active]
            hr_t = tgt + (self.hr[active] - tgt) * np.exp(-dt / tau[active])
            base = 60.0 / hr_t
            x = np.clip((hr_t - self.rest[active]) / self.reserve[active], 0.0, 1.0)
            shrink = const.VARIABILITY_FLOOR + (1.0 - const.VARIABILITY_FLOOR) * (1.0 - x) ** 2
            phase = self.resp_phase[active] + _TWO_PI * resp_hz[active] * dt
            z = rng.standard_normal((2, active.size))
            u = rng.random((2, active.size))
            sinus = base + shrink * (self.rsa_s[active] * np.sin(phase) + self.noise_s[active] * z[0])
            irregular = inputs.irregular[active]
            af_rr = base / const.AF_RATE_FACTOR * np.exp(const.AF_LOG_RR_SD * z[1] - 0.5 * const.AF_LOG_RR_SD**2)
            pause = self.pause_pending[active] & ~irregular
            premature = ~irregular & ~pause & (u[0] < self.ectopy_per_s[active] * base)
            coupling = const.ECTOPIC_COUPLING_MIN + coupling_span * u[1]
            rr = np.where(irregular, af_rr, np.where(pause, self.pause_rr[active], sinus))
            rr = np.maximum(np.where(premature, coupling * base, rr), const.MIN_RR_S)
            self.pause_rr[active] = np.where(premature, (2.0 - coupling) * base, 0.0)
            self.pause_pending[active] = premature
            self.next_label[active] = np.where(
                irregular, BEAT_IRREGULAR, np.where(premature, BEAT_ECTOPIC, BEAT_NORMAL)
            ).astype(np.int8)
            nxt = tb + rr
            self.next_beat[active] = nxt
            active = active[nxt < t_end]
        self.hr = target + (self.hr - target) * np.exp(-1.0 / tau)
        self.resp_phase = (self.resp_phase + _TWO_PI * resp_hz) % _TWO_PI
        return StepBeats(tuple(ranks), self.hr.copy())
