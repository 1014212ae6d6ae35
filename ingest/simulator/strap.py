"""What a chest strap makes of the true beats: one Heart Rate Measurement per second, battery, energy, dropouts.

Per patient and second the strap:

- reports the RR intervals that ended in that second (1/1024 s, oldest first). During motion-artefact episodes it
  misses beats (two intervals merge into one) or detects extra ones (an interval splits in two); after a contact
  loss it needs one beat before it can report an interval again;
- reports a smoothed HR (exponential average over the reported intervals, as straps do), or 0 without contact,
  with the contact bits (``supported, no contact`` during contact-loss episodes);
- adds cumulative energy expended (kJ, from HR) to one notification in ten;
- notifies its battery level whenever the whole percent changes, and dies (goes silent) at 0 %;
- sends nothing during dropout episodes (the link is gone; HRS has no buffering).

The strap stays silent until it has its first RR interval (straps lock on before they notify).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ingest import const as ble
from ingest.encode import hrm_struct
from ingest.simulator import const
from ingest.simulator.physiology import F64, I64, PatientParameters, StepBeats, StepInputs
from ingest.simulator.scenario import Scenario

_S_PER_H = 3600.0
_ML_PER_L = 1000.0
_S_PER_MIN = 60.0


@dataclass(frozen=True, slots=True)
class StrapOutput:
    """Payloads of one second, in patient order; all are due at the end of that second."""

    hrm_patients: list[int]
    hrm_payloads: list[bytes]
    battery_patients: list[int]
    battery_payloads: list[bytes]


class StrapBank:
    """Strap state of every patient; :meth:`step` turns one second of true beats into payloads."""

    def __init__(
        self, scenarios: Sequence[Scenario], params: Sequence[PatientParameters], rng: np.random.Generator
    ) -> None:
        n = len(params)
        self.rng = rng
        self.contact_supported = np.array([s.strap.contact_supported for s in scenarios])
        self.uint16 = np.array([s.strap.hr_uint16 for s in scenarios])
        self.energy_enabled = np.array([s.strap.energy_expended for s in scenarios])
        self.battery_start = np.array([s.strap.battery_start_pct for s in scenarios])
        self.drain_per_s = np.array([s.strap.battery_drain_pct_per_h for s in scenarios]) / _S_PER_H
        self.rest = np.array([p.resting_hr_bpm for p in params])
        self.peak = np.array([p.peak_hr_bpm for p in params])
        kj_per_min_per_met = (
            np.array([s.patient.weight_kg for s in scenarios])
            * const.ML_O2_PER_KG_MIN_PER_MET
            / _ML_PER_L
            * const.KJ_PER_L_O2
        )
        self.kj_per_s_per_met = kj_per_min_per_met / _S_PER_MIN
        self.peak_mets = np.array([s.patient.peak_mets for s in scenarios])
        self.seen = np.zeros(n, dtype=np.bool_)
        self.carry_s = np.zeros(n)
        self.ema_bpm = np.full(n, np.nan)
        self.energy_kj = np.zeros(n)
        self.count = np.zeros(n, dtype=np.int64)
        self.battery_sent = np.full(n, -1, dtype=np.int64)
        self.hr_max = np.where(self.uint16, ble.HR_MAX_UINT16_BPM, ble.HR_MAX_UINT8_BPM)

    def battery_pct(self, t_s: float) -> F64:
        """Battery level (whole percent, rounded up as a strap displays it) at local time ``t_s``."""
        return np.clip(np.ceil(self.battery_start - self.drain_per_s * t_s), 0.0, 100.0)

    def _report(self, beats: StepBeats, inputs: StepInputs) -> tuple[I64, npt.NDArray[np.int64]]:
        """Reported RR of the second: (patient, raw 1/1024 s), per patient in time order."""
        rng = self.rng
        patients: list[I64] = []
        values: list[F64] = []
        for idx, _tb, rr, _label in beats.ranks:
            lost = inputs.contact_loss[idx]
            usable = ~lost & self.seen[idx]
            u = rng.random((2, idx.size))
            chance = inputs.artefacts_per_min[idx] * rr / _S_PER_MIN
            missed = usable & (u[0] < 0.5 * chance)
            extra = usable & ~missed & (u[0] < chance)
            total = rr + self.carry_s[idx]
            self.carry_s[idx] = np.where(missed, total, 0.0)
            self.seen[idx] = ~lost
            split = const.EXTRA_BEAT_SPLIT_MIN + (const.EXTRA_BEAT_SPLIT_MAX - const.EXTRA_BEAT_SPLIT_MIN) * u[1]
            first = np.where(extra, total * split, total)
            report = usable & ~missed
            for sel, value in ((report, first), (extra, total - first)):
                who = idx[sel]
                if who.size == 0:
                    continue
                v = value[sel]
                inst = _S_PER_MIN / v
                old = self.ema_bpm[who]
                self.ema_bpm[who] = np.where(np.isnan(old), inst, old + const.STRAP_HR_EMA_WEIGHT * (inst - old))
                patients.append(who)
                values.append(v)
        if not patients:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        who_all = np.concatenate(patients)
        order = np.argsort(who_all, kind="stable")
        raw = np.floor(np.concatenate(values)[order] * ble.RR_UNITS_PER_S + 0.5).astype(np.int64)
        return who_all[order], np.clip(raw, 1, ble.RR_MAX_RAW)

    def step(self, k: int, beats: StepBeats, inputs: StepInputs) -> StrapOutput:
        lost = inputs.contact_loss
        self.seen[lost] = False
        self.ema_bpm[lost] = np.nan
        self.carry_s[lost] = 0.0
        rr_patients, rr_raw = self._report(beats, inputs)
        level = self.battery_pct(k + 1.0)
        alive = level > 0
        x = np.clip((beats.hr_end_bpm - self.rest) / (self.peak - self.rest), 0.0, 1.0)
        self.energy_kj += np.where(alive, (1.0 + (self.peak_mets - 1.0) * x) * self.kj_per_s_per_met, 0.0)
        linked = alive & ~inputs.dropout
        emit = linked & (lost | ~np.isnan(self.ema_bpm))
        who = np.flatnonzero(emit)
        due = self.count[who] % ble.ENERGY_EXPENDED_EVERY_N_NOTIFICATIONS == 0
        with_energy = self.energy_enabled[who] & due
        self.count[who] += 1
        hr = np.where(lost[who], 0, np.minimum(np.rint(np.nan_to_num(self.ema_bpm[who])), self.hr_max[who]))
        supported = self.contact_supported[who]
        counts = np.bincount(rr_patients, minlength=len(emit))
        n_rr = counts[who]
        flags = (
            np.where(self.uint16[who], ble.HRM_FLAG_HR_UINT16, 0)
            | np.where(supported, ble.HRM_FLAG_CONTACT_SUPPORTED, 0)
            | np.where(supported & ~lost[who], ble.HRM_FLAG_CONTACT_DETECTED, 0)
            | np.where(with_energy, ble.HRM_FLAG_ENERGY_EXPENDED, 0)
            | np.where(n_rr > 0, ble.HRM_FLAG_RR_PRESENT, 0)
        )
        ends = np.cumsum(counts)
        energy = np.minimum(np.floor(self.energy_kj[who]), ble.ENERGY_EXPENDED_SATURATED_KJ).astype(np.int64)
        payloads = _pack_hrm(
            flags.tolist(),
            hr.astype(np.int64).tolist(),
            with_energy.tolist(),
            energy.tolist(),
            self.uint16[who].tolist(),
            (ends[who] - n_rr).tolist(),
            ends[who].tolist(),
            rr_raw.tolist(),
        )
        level_int = level.astype(np.int64)
        battery_who = np.flatnonzero(linked & (level_int != self.battery_sent))
        self.battery_sent[battery_who] = level_int[battery_who]
        return StrapOutput(
            who.tolist(),
            payloads,
            battery_who.tolist(),
            [bytes((v,)) for v in level_int[battery_who].tolist()],
        )


def _pack_hrm(
    flags: list[int],
    hr: list[int],
    with_energy: list[bool],
    energy: list[int],
    uint16: list[bool],
    starts: list[int],
    ends: list[int],
    rr: list[int],
) -> list[bytes]:
    """The per-notification Python work, kept to one struct pack each."""
    out = []
    for fl, h, ee, e, u16, s, t in zip(flags, hr, with_energy, energy, uint16, starts, ends, strict=True):
        layout = hrm_struct(u16, ee, t - s)
        if ee:
            out.append(layout.pack(fl, h, e, *rr[s:t]))
        else:
            out.append(layout.pack(fl, h, *rr[s:t]))
    return out
