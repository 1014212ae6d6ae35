"""A fleet of simulated patients advanced together, vectorised across patients, one second per step.

``Fleet(n_patients, seed, scenario_by_index).advance_to(t_ns)`` returns every notification due up to ``t_ns``
(ordered by time, then patient), as the bytes a strap would send. Time is injected: the fleet never reads a
clock. Patient ``i``'s session starts at ``start_time_ns + offset_ns(i)`` with ``offset_ns`` in [0, 1 s), so
straps do not all notify at the same instant. With ``record_truth=True`` the fleet keeps the ground truth
(true beats, true RR, beat labels, mean HR and phase per second) for :meth:`Fleet.truth`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ingest import const as ble
from ingest.simulator.ecg import EcgBank
from ingest.simulator.physiology import (
    F64,
    I8,
    I64,
    BeatEngine,
    PatientParameters,
    Timeline,
    draw_parameters,
)
from ingest.simulator.scenario import Scenario
from ingest.simulator.strap import StrapBank

NotificationKind = Literal["hrm", "pmd_ecg", "battery"]
_NS_PER_S = 1_000_000_000
_KIND_ORDER = {"battery": 0, "hrm": 1, "pmd_ecg": 2}


@dataclass(frozen=True, slots=True)
class SimNotification:
    """One notification a simulated strap sends: ``payload`` is the characteristic value, due at ``time_ns``."""

    patient_index: int
    time_ns: int
    kind: NotificationKind
    payload: bytes


@dataclass(frozen=True, slots=True, eq=False)
class GroundTruth:
    """What really happened to one patient. Local times are seconds since the patient's session start."""

    patient_index: int
    scenario: Scenario
    parameters: PatientParameters
    start_ns: int  # fleet time of local t = 0
    beat_times_s: F64
    rr_ms: F64  # true RR ending at each beat
    beat_labels: I8  # BEAT_NORMAL, BEAT_ECTOPIC or BEAT_IRREGULAR (ingest.simulator.physiology)
    hr_bpm: F64  # mean (noise-free) HR at the end of each simulated second
    phase_index: I64  # phase running in each simulated second

    @property
    def beat_times_ns(self) -> I64:
        return self.start_ns + np.rint(self.beat_times_s * _NS_PER_S).astype(np.int64)

    def phase_name(self, second: int) -> str:
        return self.scenario.phases[int(self.phase_index[second])].name


ScenarioSource = Callable[[int], Scenario] | Sequence[Scenario] | Scenario


def _resolve(n: int, source: ScenarioSource) -> list[Scenario]:
    if isinstance(source, Scenario):
        return [source] * n
    if isinstance(source, Sequence):
        if not source:
            raise ValueError("scenario_by_index is an empty sequence")
        return [source[i % len(source)] for i in range(n)]
    return [source(i) for i in range(n)]


class Fleet:
    """Many simulated patients; deterministic for a given (n_patients, seed, scenarios)."""

    def __init__(
        self,
        n_patients: int,
        seed: int,
        scenario_by_index: ScenarioSource,
        *,
        start_time_ns: int = 0,
        record_truth: bool = False,
        device_clock_origin_polar_ns: int = ble.H10_CLOCK_RESET_POLAR_NS,
    ) -> None:
        if n_patients < 1:
            raise ValueError(f"n_patients must be at least 1, got {n_patients}")
        self.n_patients = n_patients
        self.start_time_ns = start_time_ns
        self._scenarios = _resolve(n_patients, scenario_by_index)
        distinct: dict[Scenario, int] = {}
        index = np.array([distinct.setdefault(s, len(distinct)) for s in self._scenarios], dtype=np.int64)
        params_rng, beats_rng, strap_rng, ecg_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
        )
        self._params = draw_parameters(self._scenarios, params_rng)
        self._offsets = (params_rng.random(n_patients) * _NS_PER_S).astype(np.int64)
        self._timeline = Timeline(list(distinct), index)
        self._engine = BeatEngine(self._scenarios, self._params, beats_rng)
        self._strap = StrapBank(self._scenarios, self._params, strap_rng)
        h10 = [i for i, s in enumerate(self._scenarios) if s.strap.kind == "polar_h10"]
        self._ecg = EcgBank(h10, n_patients, self._params, device_clock_origin_polar_ns, ecg_rng) if h10 else None
        self._alive_prev = np.ones(n_patients, dtype=np.bool_)
        self._k = 0
        self._record = record_truth
        self._truth_beats: list[tuple[I64, F64, F64, I8]] = []
        self._truth_hr: list[F64] = []
        self._truth_phase: list[I64] = []
        self._pending: list[SimNotification] = []
        self._pending_keys = np.zeros((3, 0), dtype=np.int64)

    @property
    def seconds_simulated(self) -> int:
        return self._k

    def scenario(self, patient: int) -> Scenario:
        return self._scenarios[patient]

    def parameters(self, patient: int) -> PatientParameters:
        return self._params[patient]

    def offset_ns(self, patient: int) -> int:
        return int(self._offsets[patient])

    def _step(self) -> tuple[list[SimNotification], list[list[int]]]:
        k = self._k
        inputs = self._timeline.at(k)
        beats = self._engine.step(k, inputs)
        strap = self._strap.step(k, beats, inputs)
        notes: list[SimNotification] = []
        keys: list[list[int]] = [[], [], []]  # time, patient, kind order
        base = self.start_time_ns + (k + 1) * _NS_PER_S
        offsets = self._offsets
        sources: tuple[tuple[NotificationKind, list[int], list[bytes]], ...] = (
            ("battery", strap.battery_patients, strap.battery_payloads),
            ("hrm", strap.hrm_patients, strap.hrm_payloads),
        )
        for kind, patients, payloads in sources:
            times = (offsets[patients] + base).tolist() if patients else []
            notes.extend(SimNotification(p, t, kind, b) for p, t, b in zip(patients, times, payloads, strict=True))
            keys[0].extend(times)
            keys[1].extend(patients)
            keys[2].extend([_KIND_ORDER[kind]] * len(patients))
        if self._ecg is not None:
            ecg = self._ecg.step(k, beats, inputs, self._alive_prev)
            if ecg.patients:
                times = (offsets[ecg.patients] + np.asarray(ecg.local_time_ns) + self.start_time_ns).tolist()
                notes.extend(
                    SimNotification(p, t, "pmd_ecg", b)
                    for p, t, b in zip(ecg.patients, times, ecg.payloads, strict=True)
                )
                keys[0].extend(times)
                keys[1].extend(ecg.patients)
                keys[2].extend([_KIND_ORDER["pmd_ecg"]] * len(ecg.patients))
        self._alive_prev = self._strap.battery_pct(k + 1.0) > 0
        if self._record:
            if beats.ranks:
                r = beats.ranks
                self._truth_beats.append(
                    (
                        np.concatenate([x[0] for x in r]),
                        np.concatenate([x[1] for x in r]),
                        np.concatenate([x[2] for x in r]),
                        np.concatenate([x[3] for x in r]),
                    )
                )
            self._truth_hr.append(beats.hr_end_bpm)
            self._truth_phase.append(inputs.phase_index)
        self._k += 1
        return notes, keys

    def advance_to(self, t_ns: int) -> list[SimNotification]:
        """Simulate as far as needed and return the notifications due at or before ``t_ns``, not returned yet."""
        notes = list(self._pending)
        keys = [self._pending_keys]
        # Step k emits nothing earlier than second k-1 (the ECG runs one second behind), so stop there.
        while self.start_time_ns + (self._k - 1) * _NS_PER_S <= t_ns:
            new, new_keys = self._step()
            notes.extend(new)
            keys.append(np.array(new_keys, dtype=np.int64).reshape(3, -1))
        all_keys = np.concatenate(keys, axis=1)
        order = np.lexsort((all_keys[2], all_keys[1], all_keys[0]))
        cut = int(np.searchsorted(all_keys[0][order], t_ns, side="right"))
        ready = [notes[i] for i in order[:cut].tolist()]
        rest = order[cut:]
        self._pending = [notes[i] for i in rest.tolist()]
        self._pending_keys = all_keys[:, rest]
        return ready

    def truth(self, patient: int) -> GroundTruth:
        """Ground truth of one patient so far; needs ``record_truth=True``."""
        if not self._record:
            raise ValueError("ground truth needs Fleet(..., record_truth=True)")
        if self._truth_beats:
            who, times, rr, labels = (np.concatenate(a) for a in zip(*self._truth_beats, strict=True))
            mine = who == patient
            order = np.argsort(times[mine], kind="stable")
            beat_times, rr_s, beat_labels = times[mine][order], rr[mine][order], labels[mine][order]
        else:
            beat_times, rr_s, beat_labels = np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int8)
        return GroundTruth(
            patient_index=patient,
            scenario=self._scenarios[patient],
            parameters=self._params[patient],
            start_ns=self.start_time_ns + self.offset_ns(patient),
            beat_times_s=beat_times,
            rr_ms=rr_s * 1000.0,
            beat_labels=beat_labels.astype(np.int8),
            hr_bpm=np.array([h[patient] for h in self._truth_hr]),
            phase_index=np.array([p[patient] for p in self._truth_phase], dtype=np.int64),
        )


def simulate_patient(
    scenario: Scenario, seed: int, duration_s: int | None = None
) -> tuple[list[SimNotification], GroundTruth]:
    """Run one patient through a scenario (its whole duration by default): notifications and ground truth."""
    fleet = Fleet(1, seed, scenario, record_truth=True)
    seconds = scenario.duration_s if duration_s is None else duration_s
    notes = fleet.advance_to(fleet.start_time_ns + seconds * _NS_PER_S)
    return notes, fleet.truth(0)
