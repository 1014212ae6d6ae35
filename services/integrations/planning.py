"""What each hospital receives for one internal event, as outbox rows (pure).

The sink calls this inside the transaction that stores the event (the transactional outbox), the escalation
scheduler inside the transaction that records an escalation. Nothing here touches the database: the caller loads
:class:`PatientTargets` (the patient, their devices, the hospitals serving their clinic and those hospitals' live
subscriptions), and inserts what comes back.

Per hospital (its ``HospitalConfig`` decides):

=================== ============== ============================================ ===========================
internal event      channel        message                                      sent when
=================== ============== ============================================ ===========================
alert step          mllp           PCD-04 ORU^R40                               ``send_alerts_pcd04`` and
(raised, updated,                                                               the tier/rule filters match
cleared)            fhir-rest-hook event notification, focus DetectedIssue      the tier/rule filters match
escalation to the   mllp           PCD-04 ORU^R40 update "ESCALATED ..."        ``send_alerts_pcd04``
hospital channel    fhir-rest-hook event notification, DetectedIssue with the   always (the escalation
(level 2+)                         escalation as ``mitigation``                 policy is the hospital's)
session summary     fhir-rest-hook event notification, focus the summary Bundle ``send_session_summaries``
features second     mllp           PCD-01 ORU^R01, one per ``cadence_s``        ``observations.send_pcd01``
=================== ============== ============================================ ===========================

Ordering keys (the dispatcher delivers one key strictly in enqueue order): ``mllp:<hospital>:<patient>`` for a
patient's alerts, ``mllp-obs:<hospital>:<patient>`` for their PCD-01 observations (a backlog of observations must
never hold back an alarm), ``fhir:<subscription>`` for everything one subscription receives (event numbers must
arrive in order).

Message ids are deterministic: MSH-10 for HL7, and for FHIR a UUID of the subscription and the source step, so a
replayed step maps to the same row (``INSERT ... ON CONFLICT DO NOTHING``). A FHIR event is numbered only once the
caller holds the subscription's row lock and knows the row is new (:func:`number_events`), so replays never burn
event numbers. A builder that cannot build a message yields :class:`Unbuildable`, stored as a ``failed`` row with
the reason: visible in the delivery state, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from analytics.events import AlertV1, FeaturesV1, SessionV1
from services.integrations.config import HospitalConfig
from services.integrations.context import CONTENT_TYPE_FHIR_JSON, OutboundMessage, PatientContext
from services.integrations.errors import BuildError
from services.integrations.fhir.alerts import AlertEscalation, alert_resources
from services.integrations.fhir.common import to_json_bytes
from services.integrations.fhir.session import session_summary_bundle
from services.integrations.fhir.subscription_state import SubscriptionState
from services.integrations.fhir.subscriptions import (
    CARDIAC_REHAB_ALERT_TOPIC,
    CARDIAC_REHAB_SESSION_SUMMARY_TOPIC,
    NotificationEvent,
    notification_bundle,
)
from services.integrations.hl7v2.pcd01 import pcd01_message
from services.integrations.hl7v2.pcd04 import pcd04_escalation_message, pcd04_message
from services.integrations.outbound import (
    FHIR,
    MLLP,
    Envelope,
    MessageKind,
    Outgoing,
    PatientTargets,
    PendingEvent,
    Planned,
    SubscriptionTarget,
    Unbuildable,
    handshake_id,
    mllp_alert_key,
    mllp_observation_key,
    subscription_event_id,
    subscription_key,
)
from services.integrations.resolve import gateway_context, patient_context, strap_context


def _mllp(envelope: Envelope, message: OutboundMessage) -> Outgoing:
    return Outgoing(
        envelope=replace(envelope, message_id=message.message_id),
        content_type=message.content_type,
        payload=message.payload,
    )


def plan_alert(
    alert: AlertV1,
    targets: PatientTargets,
    *,
    raised_ns: int | None,
    escalation: AlertEscalation | None = None,
) -> list[Planned]:
    """PCD-04 and DetectedIssue notifications for one engine step of an alert."""

    def pcd04(config: HospitalConfig, patient: PatientContext) -> OutboundMessage:
        strap = strap_context(alert.patient_id, targets.devices)
        return pcd04_message(alert, patient=patient, strap=strap, hospital=config.context())

    return _plan_alert_messages(
        alert,
        targets,
        source_key=f"alert:{alert.idempotency_key()}",
        kinds=("pcd04", "fhir-alert"),
        build_pcd04=pcd04,
        raised_ns=raised_ns,
        escalation=escalation,
        level=None,
    )


def plan_escalation(
    alert: AlertV1,
    level: int,
    targets: PatientTargets,
    *,
    unacknowledged_s: float,
    raised_ns: int | None,
) -> list[Planned]:
    """The hospital-channel messages of an escalation (``alert`` is the current state, ``t_ns`` the escalation).

    Every hospital serving the patient receives it, whatever its tier filter: its escalation policy (which set
    the timings) is its statement that it wants unacknowledged alerts.
    """

    def pcd04(config: HospitalConfig, patient: PatientContext) -> OutboundMessage:
        strap = strap_context(alert.patient_id, targets.devices)
        return pcd04_escalation_message(
            alert, level, unacknowledged_s=unacknowledged_s, patient=patient, strap=strap, hospital=config.context()
        )

    return _plan_alert_messages(
        alert,
        targets,
        source_key=f"escalation:{alert.alert_id}:L{level}",
        kinds=("pcd04-escalation", "fhir-alert-escalation"),
        build_pcd04=pcd04,
        raised_ns=raised_ns,
        escalation=AlertEscalation(level=level, at_ns=alert.t_ns),
        level=level,
    )


def _plan_alert_messages(
    alert: AlertV1,
    targets: PatientTargets,
    *,
    source_key: str,
    kinds: tuple[MessageKind, MessageKind],
    build_pcd04: Callable[[HospitalConfig, PatientContext], OutboundMessage],
    raised_ns: int | None,
    escalation: AlertEscalation | None,
    level: int | None,
) -> list[Planned]:
    planned: list[Planned] = []
    for hospital in targets.hospitals:
        config = hospital.config
        if level is None and not config.wants_alert(alert):
            continue
        patient = patient_context(targets.patient, config)
        base = Envelope(
            hospital_id=config.hospital_id,
            channel=MLLP,
            kind=kinds[0],
            ordering_key=mllp_alert_key(config.hospital_id, alert.patient_id),
            message_id=f"unbuilt:{source_key}",
            source_key=source_key,
            patient_id=alert.patient_id,
            alert_id=alert.alert_id,
            revision=alert.revision,
            escalation_level=level,
        )
        if config.send_alerts_pcd04 and config.mllp is not None:
            try:
                planned.append(_mllp(base, build_pcd04(config, patient)))
            except (BuildError, ValueError) as exc:
                planned.append(Unbuildable(envelope=base, reason=f"{kinds[0]} not built: {exc}"))
        for sub in hospital.subscriptions:
            if not sub.wants(CARDIAC_REHAB_ALERT_TOPIC, alert.patient_id):
                continue
            envelope = replace(
                base,
                channel=FHIR,
                kind=kinds[1],
                ordering_key=subscription_key(sub.subscription_id),
                message_id=subscription_event_id(sub.subscription_id, source_key),
                subscription_id=sub.subscription_id,
            )
            planned.append(_alert_event(envelope, sub, alert, patient, raised_ns, escalation))
    return planned


def _alert_event(
    envelope: Envelope,
    sub: SubscriptionTarget,
    alert: AlertV1,
    patient: PatientContext,
    raised_ns: int | None,
    escalation: AlertEscalation | None,
) -> Planned:
    try:
        issue = alert_resources(alert, patient=patient, raised_ns=raised_ns, escalation=escalation).detected_issue
    except BuildError as exc:
        return Unbuildable(envelope=envelope, reason=f"DetectedIssue not built: {exc}")
    assert issue.id is not None
    return PendingEvent(
        envelope=envelope,
        content=sub.content,
        topic=sub.topic,
        timestamp_ns=alert.t_ns,
        focus_type="DetectedIssue",
        focus_id=issue.id,
        resource=issue if sub.content == "full-resource" else None,
    )


def plan_summary(session: SessionV1, targets: PatientTargets) -> list[Planned]:
    """Session-summary Bundles for the subscribers of the session-summary topic."""
    if session.event != "summary":
        return []
    planned: list[Planned] = []
    source_key = f"summary:{session.session_id}"
    for hospital in targets.hospitals:
        config = hospital.config
        if not config.send_session_summaries:
            continue
        for sub in hospital.subscriptions:
            if not sub.wants(CARDIAC_REHAB_SESSION_SUMMARY_TOPIC, session.patient_id):
                continue
            envelope = Envelope(
                hospital_id=config.hospital_id,
                channel=FHIR,
                kind="fhir-session-summary",
                ordering_key=subscription_key(sub.subscription_id),
                message_id=subscription_event_id(sub.subscription_id, source_key),
                source_key=source_key,
                subscription_id=sub.subscription_id,
                patient_id=session.patient_id,
                session_id=session.session_id,
            )
            try:
                bundle = session_summary_bundle(
                    session,
                    patient=patient_context(targets.patient, config),
                    strap=strap_context(session.patient_id, targets.devices),
                    gateway=gateway_context(session.patient_id, targets.devices),
                )
            except (BuildError, ValueError) as exc:
                planned.append(Unbuildable(envelope=envelope, reason=f"session summary not built: {exc}"))
                continue
            assert bundle.id is not None
            planned.append(
                PendingEvent(
                    envelope=envelope,
                    content=sub.content,
                    topic=sub.topic,
                    timestamp_ns=session.t_ns,
                    focus_type="Bundle",
                    focus_id=bundle.id,
                    resource=bundle if sub.content == "full-resource" else None,
                )
            )
    return planned


def plan_observation(
    features: FeaturesV1, targets: PatientTargets, last_sent_s: dict[str, int]
) -> tuple[list[Planned], dict[str, int]]:
    """PCD-01 for the hospitals whose cadence says this second is due; returns the new last-sent seconds.

    ``last_sent_s`` maps hospital id to the last second sent for this patient (absent: never). Seconds without a
    heart rate are skipped (PCD-01 carries a measured value).
    """
    planned: list[Planned] = []
    sent: dict[str, int] = {}
    if features.hr_bpm is None:
        return planned, sent
    for hospital in targets.hospitals:
        config = hospital.config
        feed = config.observations
        if not feed.send_pcd01 or config.mllp is None:
            continue
        hid = config.hospital_id
        if not feed.due(last_sent_s.get(hid), features.t_s):
            continue
        source_key = f"features:{features.idempotency_key()}"
        envelope = Envelope(
            hospital_id=hid,
            channel=MLLP,
            kind="pcd01",
            ordering_key=mllp_observation_key(hid, features.patient_id),
            message_id=f"unbuilt:{source_key}",
            source_key=source_key,
            patient_id=features.patient_id,
            session_id=features.session_id,
        )
        try:
            message = pcd01_message(
                features,
                patient=patient_context(targets.patient, config),
                strap=strap_context(features.patient_id, targets.devices),
                hospital=config.context(),
            )
        except (BuildError, ValueError) as exc:
            planned.append(Unbuildable(envelope=envelope, reason=f"PCD-01 not built: {exc}"))
            continue
        planned.append(_mllp(envelope, message))
        sent[hid] = features.t_s
    return planned, sent


def number_events(
    state: SubscriptionState, events: Sequence[PendingEvent]
) -> tuple[SubscriptionState, list[Outgoing | Unbuildable]]:
    """Number ``events`` in order (1, 2, ... after ``state.events_since_start``) and build their notifications.

    The notification shows the status the subscription has whenever an event is delivered (``active``: events are
    sent only after the handshake succeeded, and a successful delivery makes an ``error`` subscription active), and
    the event's own time as the Bundle timestamp, so the stored bytes are deterministic. A notification that cannot
    be built becomes :class:`Unbuildable` and takes no number (the receiver sees no gap).
    """
    out: list[Outgoing | Unbuildable] = []
    for event in events:
        numbered, number = state.next_event()
        try:
            bundle = notification_bundle(
                replace(numbered, status="active"),
                "event-notification",
                now_ns=event.timestamp_ns,
                content=event.content,
                events=[
                    NotificationEvent(
                        event_number=number,
                        timestamp_ns=event.timestamp_ns,
                        focus_type=event.focus_type,
                        focus_id=event.focus_id,
                        resource=event.resource,
                    )
                ],
            )
        except BuildError as exc:
            out.append(Unbuildable(envelope=event.envelope, reason=f"notification not built: {exc}"))
            continue
        state = numbered
        out.append(
            Outgoing(
                envelope=event.envelope,
                content_type=CONTENT_TYPE_FHIR_JSON,
                payload=to_json_bytes(bundle),
                event_number=number,
            )
        )
    return state, out


def handshake(state: SubscriptionState, *, now_ns: int, hospital_id: str) -> Outgoing:
    """The handshake notification that opens a subscription's queue (its first message)."""
    bundle = notification_bundle(state, "handshake", now_ns=now_ns)
    source_key = f"handshake:{state.subscription_id}"
    return Outgoing(
        envelope=Envelope(
            hospital_id=hospital_id,
            channel=FHIR,
            kind="fhir-handshake",
            ordering_key=subscription_key(state.subscription_id),
            message_id=handshake_id(state.subscription_id),
            source_key=source_key,
            subscription_id=state.subscription_id,
        ),
        content_type=CONTENT_TYPE_FHIR_JSON,
        payload=to_json_bytes(bundle),
    )
