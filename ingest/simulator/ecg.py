"""Synthetic single-lead ECG at 130 Hz for simulated Polar H10 straps, framed as 73-sample PMD ECG frames.

A P-QRS-T template (a sum of Gaussians, after McSharry 2003) in µV is placed at each true beat, scaled per
patient. Premature ectopic beats get a wide QRS without P wave and an inverted T; beats in irregular-rhythm
episodes lose the P wave and ride on fibrillatory waves. Noise rises during motion artefacts; without skin
contact the signal is noise only. Each frame carries the Polar-epoch time of its last sample.

The signal runs one second behind the beats, because a beat's P wave starts before its R peak: at step ``k``
the samples of second ``k - 1`` are complete, and the frames that end in that second are emitted.

References
----------
McSharry PE et al. A dynamical model for generating synthetic electrocardiogram signals.
IEEE Trans Biomed Eng 2003;50(3):289-94.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ingest import const as ble
from ingest.encode import build_pmd_ecg_frames
from ingest.simulator import const
from ingest.simulator.physiology import (
    BEAT_ECTOPIC,
    BEAT_IRREGULAR,
    BEAT_NORMAL,
    I64,
    PatientParameters,
    StepBeats,
    StepInputs,
)

FS_HZ = ble.H10_ECG_SAMPLE_RATE_HZ
FRAME = ble.H10_ECG_SAMPLES_PER_FRAME
_NS_PER_S = 1_000_000_000
_PRE_S, _POST_S = 0.30, 0.50  # template support around the R peak
# Gaussian waves per beat label: (centre s, width s, amplitude µV).
_WAVES: dict[int, tuple[tuple[float, float, float], ...]] = {
    BEAT_NORMAL: (
        (-0.20, 0.025, 120),
        (-0.035, 0.010, -100),
        (0.0, 0.010, 1100),
        (0.035, 0.012, -250),
        (0.28, 0.045, 300),
    ),
    BEAT_ECTOPIC: ((0.0, 0.030, 1400), (0.08, 0.030, -450), (0.32, 0.060, -350)),
    BEAT_IRREGULAR: ((-0.035, 0.010, -100), (0.0, 0.010, 1100), (0.035, 0.012, -250), (0.28, 0.045, 300)),
}


def beat_templates_uv() -> tuple[I64, npt.NDArray[np.float32]]:
    """Sample offsets around the R peak and one template row per beat label, in µV at 130 Hz."""
    offsets = np.arange(-round(_PRE_S * FS_HZ), round(_POST_S * FS_HZ) + 1)
    t = offsets / FS_HZ
    rows = np.zeros((len(_WAVES), offsets.size), dtype=np.float32)
    for label, waves in _WAVES.items():
        for centre, width, amplitude in waves:
            rows[label] += amplitude * np.exp(-0.5 * ((t - centre) / width) ** 2)
    return offsets.astype(np.int64), rows


@dataclass(frozen=True, slots=True)
class EcgOutput:
    patients: list[int]
    local_time_ns: list[int]  # time of each frame's last sample since the patient's session start
    payloads: list[bytes]


class EcgBank:
    """ECG state of the H10 patients (``patients`` are fleet indices)."""

    def __init__(
        self,
        patients: Sequence[int],
        n_patients: int,
        params: Sequence[PatientParameters],
        clock_origin_polar_ns: int,
        rng: np.random.Generator,
    ) -> None:
        self.patients = np.asarray(patients, dtype=np.int64)
        self.row_of = np.full(n_patients, -1, dtype=np.int64)
        self.row_of[self.patients] = np.arange(self.patients.size)
        self.rng = rng
        self.clock_origin_polar_ns = clock_origin_polar_ns
        self.amplitude = np.array([params[p].ecg_amplitude_scale for p in patients], dtype=np.float32)
        self.offsets, self.templates = beat_templates_uv()
        rows = self.patients.size
        self.buffer = np.zeros((rows, 3 * FS_HZ), dtype=np.float32)  # samples of seconds k-1, k, k+1
        self.pending = np.zeros((rows, 0), dtype=np.int32)
        self.sent_samples = 0  # samples already framed (identical for every patient)
        self.previous: StepInputs | None = None
        self.af_phase = rng.random(rows).astype(np.float32) * np.float32(2 * np.pi)

    def step(self, k: int, beats: StepBeats, inputs: StepInputs, alive_prev: npt.NDArray[np.bool_]) -> EcgOutput:
        base = FS_HZ * (k - 1)
        for idx, tb, _rr, label in beats.ranks:
            rows = self.row_of[idx]
            keep = (rows >= 0) & ~inputs.contact_loss[idx]
            if not keep.any():
                continue
            rows = rows[keep]
            centre = np.rint(tb[keep] * FS_HZ).astype(np.int64) - base
            shape = self.templates[label[keep]] * self.amplitude[rows, None]
            # One beat per patient per rank, so the flat indices are unique and a fancy += is exact.
            flat = (rows * self.buffer.shape[1] + centre)[:, None] + self.offsets[None, :]
            self.buffer.reshape(-1)[flat] += shape
        out = EcgOutput([], [], [])
        if self.previous is not None:
            out = self._finish_second(self.previous, alive_prev)
        self.buffer[:, : 2 * FS_HZ] = self.buffer[:, FS_HZ:]
        self.buffer[:, 2 * FS_HZ :] = 0.0
        self.previous = inputs
        return out

    def _finish_second(self, inputs: StepInputs, alive: npt.NDArray[np.bool_]) -> EcgOutput:
        p = self.patients
        lost = inputs.contact_loss[p]
        noise_sd = np.where(
            lost,
            const.ECG_NO_CONTACT_NOISE_UV,
            np.where(inputs.artefacts_per_min[p] > 0, const.ECG_MOTION_NOISE_UV, const.ECG_NOISE_UV),
        ).astype(np.float32)
        noise = self.rng.standard_normal((p.size, FS_HZ), dtype=np.float32)
        signal = self.buffer[:, :FS_HZ] + noise * noise_sd[:, None]
        fib = inputs.irregular[p] & ~lost
        if fib.any():
            t = np.arange(FS_HZ, dtype=np.float32) / FS_HZ
            omega = np.float32(2 * np.pi * const.ECG_AF_WAVE_HZ)
            signal[fib] += np.float32(const.ECG_AF_WAVE_UV) * np.sin(self.af_phase[fib, None] + omega * t[None, :])
            self.af_phase[fib] = (self.af_phase[fib] + omega) % np.float32(2 * np.pi)
        limit = ble.H10_ECG_RANGE_UV
        samples = np.clip(np.rint(signal), -limit, limit).astype(np.int32)
        self.pending = np.concatenate((self.pending, samples), axis=1)
        send = np.flatnonzero(alive[p] & ~inputs.dropout[p])
        patients: list[int] = []
        payloads: list[bytes] = []
        times: list[int] = []
        while self.pending.shape[1] >= FRAME:
            last = self.sent_samples + FRAME - 1
            local_ns = last * _NS_PER_S // FS_HZ
            if send.size:
                stamps = np.full(send.size, self.clock_origin_polar_ns + local_ns, dtype=np.uint64)
                payloads.extend(build_pmd_ecg_frames(stamps, self.pending[send, :FRAME]))
                patients.extend(p[send].tolist())
                times.extend([local_ns] * send.size)
            self.pending = self.pending[:, FRAME:]
            self.sent_samples += FRAME
        return EcgOutput(patients, times, payloads)
