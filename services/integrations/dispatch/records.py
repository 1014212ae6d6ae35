"""Stored rows as the read API's FHIR resources, built by the same pure builders as pushed messages (so an id in a
notification resolves to the same resource on ``/fhir``)."""

from __future__ import annotations

from typing import Literal

from fhir.resources.R4B.resource import Resource

from analytics.events import FeaturesV1, SessionV1
from services.db.alerts import AlertRow
from services.db.fhir_reads import FeatureRecord, SummaryRecord
from services.db.hospitals import DeviceRecord, PatientRecord
from services.db.subscriptions import SubscriptionRow
from services.integrations.dispatch.targets import alert_step, device_facts, patient_facts
from services.integrations.fhir.alerts import AlertEscalation, alert_resources
from services.integrations.fhir.devices import phd_device, phg_device
from services.integrations.fhir.session import session_summary_bundle
from services.integrations.fhir.subscription_state import SubscriptionState
from services.integrations.fhir.subscriptions import backport_subscription
from services.integrations.resolve import (
    DeviceFacts,
    Identification,
    gateway_context,
    gateway_of,
    patient_context,
    strap_context,
    strap_of,
)
from services.live.events import dt_ns


def features_of(patient_id: str, row: FeatureRecord) -> FeaturesV1:
    """The stored columns of one second that Observations carry."""
    return FeaturesV1(
        patient_id=patient_id,
        t_s=int(row.time.timestamp()),
        session_id=row.session_id,
        computed_time_ns=dt_ns(row.computed_at) or 0,
        hr_bpm=row.hr_bpm,
        band_low_bpm=row.band_low_bpm,
        band_high_bpm=row.band_high_bpm,
        ceiling_bpm=row.ceiling_bpm,
        rmssd_ms=row.rmssd_ms,
        sdnn_ms=row.sdnn_ms,
    )


def detected_issue(row: AlertRow, patient: PatientRecord, ident: Identification) -> Resource:
    """The alert's current state as a DetectedIssue (as pushed, with its escalation as mitigation)."""
    event: Literal["raised", "updated", "cleared"] = row.last_event  # type: ignore[assignment]
    escalation = None
    if row.escalation_level > 0 and row.escalated_at is not None:
        escalation = AlertEscalation(level=row.escalation_level, at_ns=dt_ns(row.escalated_at) or 0)
    step = alert_step(row, dt_ns(row.cleared_at or row.updated_at) or 0, event)
    return alert_resources(
        step,
        patient=patient_context(patient_facts(patient), ident),
        raised_ns=dt_ns(row.raised_at),
        escalation=escalation,
    ).detected_issue


def device_resource(record: DeviceRecord) -> Resource:
    facts = device_facts(record)
    return phg_device(gateway_of(facts)) if facts.kind == "gateway" else phd_device(strap_of(facts))


def summary_bundle(
    summary: SummaryRecord, patient: PatientRecord, devices: list[DeviceFacts], ident: Identification
) -> Resource:
    """A stored session summary as the collection Bundle the session topic's notifications point to."""
    session = SessionV1(
        session_id=summary.session_id,
        patient_id=summary.patient_id,
        event="summary",
        t_ns=dt_ns(summary.t) or 0,
        started_ns=dt_ns(summary.started_at) or 0,
        ended_ns=dt_ns(summary.ended_at),
        duration_s=summary.duration_s,
        time_in_band_s=summary.time_in_band_s,
        time_in_band_pct=summary.time_in_band_pct,
        peak_hr_bpm=summary.peak_hr_bpm,
        mean_hr_bpm=summary.mean_hr_bpm,
        trimp_banister=summary.trimp_banister,
        trimp_edwards=summary.trimp_edwards,
        hrr1_bpm=summary.hrr1_bpm,
        hrr2_bpm=summary.hrr2_bpm,
        flags=tuple(summary.flags),
    )
    return session_summary_bundle(
        session,
        patient=patient_context(patient_facts(patient), ident),
        strap=strap_context(patient.id, devices),
        gateway=gateway_context(patient.id, devices),
    )


def subscription_state(row: SubscriptionRow) -> SubscriptionState:
    return SubscriptionState(
        subscription_id=row.id,
        topic=row.topic,
        status=row.status,  # type: ignore[arg-type]
        events_since_start=row.events_since_start,
        heartbeat_period_s=row.heartbeat_period_s,
        last_notification_ns=dt_ns(row.last_notification_at),
        consecutive_failures=row.consecutive_failures,
    )


def subscription_resource(row: SubscriptionRow) -> Resource:
    return backport_subscription(
        subscription_id=row.id,
        endpoint=row.endpoint,
        content=row.content,  # type: ignore[arg-type]
        heartbeat_period_s=row.heartbeat_period_s,
        timeout_s=row.timeout_s,
        filter_criteria=row.filter_criteria,
        headers=row.headers,
        status=row.status,  # type: ignore[arg-type]
        end_ns=dt_ns(row.end_at),
        reason=row.reason,
        topic=row.topic,
    )
