"""Shared contexts and deterministic internal events for the integration builder tests."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from analytics.events import AlertV1, FeaturesV1, SessionV1
from ingest.events import SensorHrV1
from services.integrations.context import DeviceContext, GatewayContext, HospitalContext, PatientContext

T_S = 1_714_557_600  # 2024-05-01T10:00:00Z
T_NS = T_S * 1_000_000_000


@pytest.fixture
def patient() -> PatientContext:
    return PatientContext(
        patient_id="pat-001",
        mrn="MRN-4711",
        mrn_system="urn:oid:2.16.840.1.113883.3.9999.1",
        mrn_assigning_authority="GENHOSP",
        fhir_id="example-patient-1",
        family_name="Muster",
        given_name="Erika",
        birth_date=date(1958, 3, 14),
        sex="female",
    )


@pytest.fixture
def anonymous_patient() -> PatientContext:
    return PatientContext(
        patient_id="pat-002", mrn="MRN-0002", mrn_system="urn:oid:2.16.840.1.113883.3.9999.1",
        mrn_assigning_authority="GENHOSP",
    )  # fmt: skip


@pytest.fixture
def strap() -> DeviceContext:
    return DeviceContext(
        device_id="strap-h10-01",
        system_id="A0:9E:1A:FF:FE:12:34:56",
        bt_address="A0:9E:1A:12:34:56",
        manufacturer="Polar Electro Oy",
        model_number="H10",
        serial_number="C1234567",
        firmware_version="5.0.0",
    )


@pytest.fixture
def gateway() -> GatewayContext:
    return GatewayContext(
        device_id="gw-phone-01",
        system_id="02-00-5E-FF-FE-10-00-01",
        manufacturer="cardiorehab",
        model_number="gateway-android",
        software_version="0.1.0",
        clock_sync="ntpv4",
    )


@pytest.fixture
def hospital() -> HospitalContext:
    return HospitalContext(
        hospital_id="genhosp",
        sending_application="CARDIOREHAB",
        sending_application_id="0123456789ABCDEF",
        sending_application_id_type="EUI-64",
        sending_facility="CARDIOREHAB",
        receiving_application="ENGINE",
        receiving_facility="GENHOSP",
        point_of_care="HOMEREHAB",
    )


@pytest.fixture
def features() -> FeaturesV1:
    return FeaturesV1(
        patient_id="pat-001",
        t_s=T_S,
        session_id="sess-42",
        computed_time_ns=T_NS + 5_000_000,
        hr_bpm=131.5,
        band_low_bpm=100.0,
        band_high_bpm=130.0,
        ceiling_bpm=140.0,
        rmssd_ms=21.4,
        sdnn_ms=38.0,
    )


@pytest.fixture
def reading() -> SensorHrV1:
    return SensorHrV1(
        patient_id="pat-001",
        device_id="strap-h10-01",
        seq=9001,
        gateway_time_ns=T_NS + 250_000_000,
        hr_bpm=128,
        rr_ms=(468.75, 471.6796875, 465.8203125),
    )


@pytest.fixture
def summary() -> SessionV1:
    return SessionV1(
        session_id="sess-42",
        patient_id="pat-001",
        event="summary",
        t_ns=T_NS + 2_700 * 1_000_000_000,
        started_ns=T_NS,
        ended_ns=T_NS + 2_400 * 1_000_000_000,
        duration_s=2_400.0,
        time_in_band_s=1_700.0,
        time_in_band_pct=70.8,
        peak_hr_bpm=142.0,
        mean_hr_bpm=118.0,
        trimp_banister=52.3,
        trimp_edwards=88.0,
        hrr1_bpm=17.0,
        hrr2_bpm=35.0,
        flags=("beta_blocker",),
    )


def _make_alert(
    event: str = "raised",
    *,
    revision: int = 0,
    tier: str = "urgent",
    rule: str = "hr_above_ceiling",
    value: float | None = 152.0,
    threshold: float | None = 140.0,
    t_ns: int = T_NS + 123_000_000,
) -> AlertV1:
    return AlertV1(
        alert_id="pat-001:hr_above_ceiling:1714557600",
        patient_id="pat-001",
        session_id="sess-42",
        rule=rule,
        tier=tier,  # type: ignore[arg-type]
        event=event,  # type: ignore[arg-type]
        revision=revision,
        t_ns=t_ns,
        message="Heart rate 152 above ceiling 140 | stop & rest ^ now",
        value=value,
        threshold=threshold,
    )


@pytest.fixture
def make_alert() -> Any:
    """A factory: ``make_alert("cleared", revision=2)`` builds one lifecycle step of the same episode."""
    return _make_alert
