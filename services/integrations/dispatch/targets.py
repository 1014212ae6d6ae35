"""Stored hospital rows to the planner's inputs and the dispatcher's resolved configurations."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

from pydantic import SecretStr, ValidationError

from analytics.events import AlertV1
from services.db.alerts import AlertRow
from services.db.hospitals import DeviceRecord, HospitalRecord, PatientRecord, SubscriptionTargetRow, Targets
from services.integrations.config import HospitalConfig
from services.integrations.fhir.subscriptions import PayloadContent
from services.integrations.outbound import HospitalTarget, PatientTargets, SubscriptionTarget
from services.integrations.resolve import DeviceFacts, PatientFacts
from services.integrations.stored import StoredHospitalConfig

log = logging.getLogger(__name__)


def stored_config(record: HospitalRecord) -> StoredHospitalConfig:
    """Reassemble the stored configuration; raises ``ValidationError`` if the stored rows are no longer valid."""
    fhir = record.endpoints.get("fhir-rest-hook")
    mllp = record.endpoints.get("mllp")
    return StoredHospitalConfig.from_parts(
        record.id,
        record.settings,
        None if fhir is None else fhir.settings,
        None if fhir is None else fhir.credential_ref,
        None if mllp is None else mllp.settings,
    )


def unresolved_config(record: HospitalRecord) -> HospitalConfig | None:
    """The configuration for building payloads (no secrets), or None (logged) if it no longer validates."""
    try:
        return stored_config(record).unresolved()
    except ValidationError as exc:
        log.error("hospital %s: stored configuration is invalid, nothing is sent to it: %s", record.id, exc)
        return None


def resolved_config(record: HospitalRecord, secret: Callable[[str], SecretStr]) -> HospitalConfig:
    """The configuration with its secrets (dispatcher only); raises ValidationError or ConfigurationError."""
    return stored_config(record).resolved(secret)


def patient_facts(row: PatientRecord) -> PatientFacts:
    return PatientFacts(
        patient_id=row.id,
        clinic_id=row.clinic_id,
        display_name=row.display_name,
        sex=row.sex if row.sex in ("male", "female") else None,  # type: ignore[arg-type]
        birth_year=row.birth_year,
        mrn=row.mrn,
        archived=row.archived_at is not None,
    )


def device_facts(row: DeviceRecord) -> DeviceFacts:
    return DeviceFacts(
        device_id=row.id,
        patient_id=row.patient_id,
        kind=row.kind,
        address=row.address,
        manufacturer=row.manufacturer,
        model=row.model,
        serial=row.serial,
        firmware=row.firmware,
        retired=row.retired_at is not None,
    )


def patient_filter(criteria: list[str]) -> frozenset[str] | None:
    """FHIR Patient ids named by ``patient=`` filter criteria (``DetectedIssue?patient=Patient/<id>`` or ``<id>``)."""
    ids: set[str] = set()
    for criterion in criteria:
        _, _, query = criterion.partition("?")
        for part in query.split("&"):
            name, _, value = part.partition("=")
            if name == "patient":
                ids.update(v.removeprefix("Patient/") for v in value.split(",") if v)
    return frozenset(ids) if ids else None


def subscription_target(row: SubscriptionTargetRow) -> SubscriptionTarget:
    content: PayloadContent = row.content  # type: ignore[assignment]
    return SubscriptionTarget(
        subscription_id=row.id,
        hospital_id=row.hospital_id,
        topic=row.topic,
        content=content,
        status=row.status,  # type: ignore[arg-type]
        patient_filter=patient_filter(row.filter_criteria),
    )


def patient_targets(targets: Targets) -> dict[str, PatientTargets]:
    """Per patient: facts, devices and the hospitals (with live subscriptions) serving their clinic."""
    configs: dict[str, HospitalConfig | None] = {}
    result: dict[str, PatientTargets] = {}
    for patient_id, patient in targets.patients.items():
        hospitals: list[HospitalTarget] = []
        for record in targets.hospitals_by_clinic.get(patient.clinic_id, []):
            if record.id not in configs:
                configs[record.id] = unresolved_config(record)
            config = configs[record.id]
            if config is None:
                continue
            subs = tuple(subscription_target(s) for s in targets.subscriptions.get(record.id, []))
            hospitals.append(HospitalTarget(config=config, subscriptions=subs))
        result[patient_id] = PatientTargets(
            patient=patient_facts(patient),
            devices=tuple(device_facts(d) for d in targets.devices.get(patient_id, [])),
            hospitals=tuple(hospitals),
        )
    return result


def alert_step(row: AlertRow, t_ns: int, event: Literal["raised", "updated", "cleared"] = "updated") -> AlertV1:
    """A stored alert's current engine state as one lifecycle step at ``t_ns`` (for escalations and reads)."""
    return AlertV1(
        alert_id=row.alert_id,
        patient_id=row.patient_id,
        session_id=row.session_id,
        rule=row.rule,
        tier=row.tier,  # type: ignore[arg-type]
        event=event,
        revision=row.revision,
        t_ns=t_ns,
        message=row.message,
        value=row.value,
        threshold=row.threshold,
    )
