"""Pure per-patient step: fold one sensor reading into the patient's state and say what to emit.

No faust, no Kafka: the agent in :mod:`analytics.stream.agents` is a thin loop around :func:`apply_reading`.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from analytics.events import FeaturesV1, PrescriptionV1
from ingest.events import SensorHrV1

NS_PER_S = 1_000_000_000


class PatientState(msgspec.Struct, kw_only=True):
    """Everything the processor remembers about one patient between readings (stored in a faust table)."""

    last_seq: dict[str, int] = msgspec.field(default_factory=dict)
    last_t_s: int | None = None
    first_t_s: int | None = None
    last_reading_ns: int = 0
    hr_bpm: float | None = None
    time_in_band_s: float = 0.0
    readings: int = 0


_state_encoder = msgspec.json.Encoder()
_state_decoder = msgspec.json.Decoder(PatientState)


def dump_state(state: PatientState) -> bytes:
    return _state_encoder.encode(state)


def load_state(data: bytes | None) -> PatientState:
    return PatientState() if not data else _state_decoder.decode(data)


@dataclass(frozen=True)
class Band:
    """The prescribed heart-rate band and ceiling, in bpm."""

    low_bpm: float
    high_bpm: float
    ceiling_bpm: float
    peak_bpm: float


def band_of(prescription: PrescriptionV1) -> Band:
    """Resolve a prescription to bpm (Karvonen: HRrest + k·(HRpeak − HRrest), CLINICAL.md 2.1)."""
    rest = prescription.resting_hr_bpm
    peak = prescription.peak_hr_bpm or rest + 60.0
    lo, hi = prescription.intensity_low, prescription.intensity_high
    if prescription.method == "karvonen":
        low, high = rest + lo * (peak - rest), rest + hi * (peak - rest)
    elif prescription.method == "pct_peak":
        low, high = lo * peak, hi * peak
    elif prescription.method == "threshold" and prescription.threshold_hr_bpm is not None:
        low, high = lo * prescription.threshold_hr_bpm, hi * prescription.threshold_hr_bpm
    else:
        low, high = lo, hi
    return Band(low_bpm=low, high_bpm=high, ceiling_bpm=prescription.ceiling_bpm, peak_bpm=peak)


def zone_of(hr_bpm: float, band: Band) -> int:
    """Edwards zones by %HRpeak: 1 = 50-60 %, ..., 5 = 90-100 %; 0 below 50 % (Edwards 1993, CLINICAL.md 2.5)."""
    pct = hr_bpm / band.peak_bpm
    if pct < 0.5:
        return 0
    tenths = round(pct * 1000) // 100  # integer arithmetic: 0.6 must be zone 2, not 0.5999… zone 1
    return min(5, tenths - 4)


def apply_reading(
    state: PatientState, reading: SensorHrV1, prescription: PrescriptionV1, *, now_ns: int
) -> tuple[PatientState, FeaturesV1 | None]:
    """Fold one reading in; returns the new state and the snapshot of the reading's second (None if duplicate).

    Readings are deduplicated by (device, seq): at-least-once delivery may replay a reading after a crash, and a
    replayed reading must not be counted twice.
    """
    last = state.last_seq.get(reading.device_id)
    if last is not None and reading.seq <= last:
        return state, None
    t_s = reading.gateway_time_ns // NS_PER_S
    band = band_of(prescription)
    hr = float(reading.hr_bpm) if reading.hr_bpm > 0 else None
    in_band = None if hr is None else band.low_bpm <= hr <= band.high_bpm
    new_second = state.last_t_s is None or t_s > state.last_t_s
    time_in_band = state.time_in_band_s + (1.0 if (in_band and new_second) else 0.0)
    seqs = dict(state.last_seq)
    seqs[reading.device_id] = reading.seq
    new_state = PatientState(
        last_seq=seqs,
        last_t_s=max(t_s, state.last_t_s or t_s),
        first_t_s=state.first_t_s if state.first_t_s is not None else t_s,
        last_reading_ns=max(reading.gateway_time_ns, state.last_reading_ns),
        hr_bpm=hr,
        time_in_band_s=time_in_band,
        readings=state.readings + 1,
    )
    span = band.high_bpm - band.low_bpm
    features = FeaturesV1(
        patient_id=reading.patient_id,
        t_s=t_s,
        computed_time_ns=now_ns,
        hr_bpm=hr,
        zone=None if hr is None else zone_of(hr, band),
        band_low_bpm=band.low_bpm,
        band_high_bpm=band.high_bpm,
        ceiling_bpm=band.ceiling_bpm,
        band_pct=None if hr is None or span <= 0 else 100.0 * (hr - band.low_bpm) / span,
        in_band=in_band,
        time_in_band_s=time_in_band,
        elapsed_s=float(t_s - (new_state.first_t_s or t_s)),
        sensor_contact=reading.sensor_contact,
        battery_pct=reading.battery_pct,
        data_age_s=max(0.0, (now_ns - reading.gateway_time_ns) / NS_PER_S),
        readings=new_state.readings,
        prescription_version=prescription.version if prescription.version > 0 else None,
        late=not new_second,
    )
    return new_state, features
