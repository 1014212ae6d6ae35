"""Valid events of every topic the sink and the hub read, built deterministically for tests and benchmarks."""

from __future__ import annotations

from analytics.events import AlertV1, FeaturesV1, SessionV1
from ingest.events import SensorAccV1, SensorEcgV1, SensorHrV1

T0_NS = 1_790_000_000_000_000_000  # 2026-09-21, inside any sane retention window of a test run


def hr(patient: str, device: str, seq: int, t_ns: int = T0_NS) -> SensorHrV1:
    return SensorHrV1(
        patient_id=patient,
        device_id=device,
        seq=seq,
        gateway_time_ns=t_ns + seq * 1_000_000_000,
        hr_bpm=60 + seq % 60,
        rr_ms=(800.0, 790.0),
        sensor_contact=True,
        battery_pct=90,
    )


def ecg(patient: str, device: str, seq: int, t_ns: int = T0_NS) -> SensorEcgV1:
    t = t_ns + seq * 565_000_000
    return SensorEcgV1(
        patient_id=patient,
        device_id=device,
        seq=seq,
        gateway_time_ns=t,
        device_time_ns=t - 20_000_000,
        fs_hz=130.0,
        samples_uv=tuple((i * 37 + seq) % 900 - 450 for i in range(73)),
    )


def acc(patient: str, device: str, seq: int, t_ns: int = T0_NS) -> SensorAccV1:
    t = t_ns + seq * 1_000_000_000
    return SensorAccV1(
        patient_id=patient,
        device_id=device,
        seq=seq,
        gateway_time_ns=t,
        device_time_ns=t - 10_000_000,
        fs_hz=25.0,
        samples_mg=tuple((i, -i, 1000 + seq) for i in range(25)),
    )


def features(patient: str, second: int, t_s: int = T0_NS // 1_000_000_000, hr_bpm: float = 100.0) -> FeaturesV1:
    return FeaturesV1(
        patient_id=patient,
        t_s=t_s + second,
        session_id=f"{patient}-s1",
        computed_time_ns=(t_s + second) * 1_000_000_000 + 400_000_000,
        hr_bpm=hr_bpm + second % 20,
        zone=2,
        band_low_bpm=90.0,
        band_high_bpm=110.0,
        ceiling_bpm=120.0,
        in_band=True,
        time_in_band_s=float(second),
        time_in_zone_s=(0.0, 0.0, float(second), 0.0, 0.0, 0.0),
        elapsed_s=float(second),
        phase="exercise",
        readings=1,
        prescription_version=1,
    )


def alert(
    patient: str,
    alert_id: str,
    revision: int,
    *,
    event: str = "updated",
    tier: str = "nurse",
    t_ns: int = T0_NS,
    value: float = 130.0,
) -> AlertV1:
    return AlertV1(
        alert_id=alert_id,
        patient_id=patient,
        session_id=f"{patient}-s1",
        rule="hr_above_ceiling",
        tier=tier,  # type: ignore[arg-type]
        event=event,  # type: ignore[arg-type]
        revision=revision,
        t_ns=t_ns + revision * 1_000_000_000,
        message=f"HR {value:.0f} above ceiling 120 (revision {revision})",
        value=value,
        threshold=120.0,
    )


def session(patient: str, session_id: str, event: str, t_ns: int = T0_NS) -> SessionV1:
    ended = t_ns + 1800 * 1_000_000_000 if event != "start" else None
    summary = event == "summary"
    return SessionV1(
        session_id=session_id,
        patient_id=patient,
        event=event,  # type: ignore[arg-type]
        t_ns=ended or t_ns,
        started_ns=t_ns,
        ended_ns=ended,
        duration_s=1800.0 if ended else None,
        time_in_band_s=1200.0 if summary else None,
        time_in_band_pct=66.7 if summary else None,
        peak_hr_bpm=131.0 if summary else None,
        mean_hr_bpm=104.0 if summary else None,
        trimp_banister=41.5 if summary else None,
        hrr1_bpm=18.0 if summary else None,
        flags=("demo",) if summary else (),
    )
