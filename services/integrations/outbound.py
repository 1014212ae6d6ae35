"""The outbox's vocabulary (pure): channels, message kinds, ordering keys, deterministic message ids, the targets a
patient's events go to, and the planned rows (:class:`Outgoing`, :class:`PendingEvent`, :class:`Unbuildable`).
See :mod:`services.integrations.planning` for what is planned when, and docs/integration.md for the guarantees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from fhir.resources.R4B.resource import Resource

from services.integrations.config import HospitalConfig
from services.integrations.fhir.subscription_state import SubscriptionStatus
from services.integrations.fhir.subscriptions import PayloadContent
from services.integrations.ids import resource_id
from services.integrations.resolve import DeviceFacts, PatientFacts, fhir_patient_id

Channel = Literal["mllp", "fhir-rest-hook"]
MessageKind = Literal[
    "pcd04",
    "pcd04-escalation",
    "pcd01",
    "fhir-alert",
    "fhir-alert-escalation",
    "fhir-session-summary",
    "fhir-handshake",
]
MLLP: Final = "mllp"
FHIR: Final = "fhir-rest-hook"
# Subscriptions that still receive events: a requested one gets them after its handshake, one in error after the
# endpoint recovers; only "off" stops them.
LIVE_STATUSES: Final[frozenset[SubscriptionStatus]] = frozenset({"requested", "active", "error"})


def mllp_alert_key(hospital_id: str, patient_id: str) -> str:
    return f"mllp:{hospital_id}:{patient_id}"


def mllp_observation_key(hospital_id: str, patient_id: str) -> str:
    return f"mllp-obs:{hospital_id}:{patient_id}"


def subscription_key(subscription_id: str) -> str:
    return f"fhir:{subscription_id}"


def subscription_event_id(subscription_id: str, source_key: str) -> str:
    return resource_id("subscription-event", f"{subscription_id}:{source_key}")


def handshake_id(subscription_id: str) -> str:
    return resource_id("subscription-handshake", subscription_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionTarget:
    """A live subscription of a hospital; ``patient_filter`` holds FHIR Patient ids from ``patient=`` criteria."""

    subscription_id: str
    hospital_id: str
    topic: str
    content: PayloadContent
    status: SubscriptionStatus
    patient_filter: frozenset[str] | None = None

    def wants(self, topic: str, patient_id: str) -> bool:
        if self.topic != topic or self.status not in LIVE_STATUSES:
            return False
        return self.patient_filter is None or fhir_patient_id(patient_id) in self.patient_filter


@dataclass(frozen=True, slots=True, kw_only=True)
class HospitalTarget:
    """A hospital serving the patient's clinic (credentials unresolved: payloads never contain them)."""

    config: HospitalConfig
    subscriptions: tuple[SubscriptionTarget, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientTargets:
    patient: PatientFacts
    devices: tuple[DeviceFacts, ...]
    hospitals: tuple[HospitalTarget, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """Where a message goes and what it is about: the outbox row's addressing columns."""

    hospital_id: str
    channel: Channel
    kind: MessageKind
    ordering_key: str
    message_id: str
    source_key: str
    patient_id: str | None = None
    alert_id: str | None = None
    revision: int | None = None
    session_id: str | None = None
    escalation_level: int | None = None
    subscription_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outgoing:
    """A message ready for the wire."""

    envelope: Envelope
    content_type: str
    payload: bytes
    event_number: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingEvent:
    """A subscription event waiting for its number (see :func:`number_events`)."""

    envelope: Envelope
    content: PayloadContent
    topic: str
    timestamp_ns: int
    focus_type: str
    focus_id: str
    resource: Resource | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbuildable:
    """A message that could not be built; stored as a ``failed`` row carrying ``reason``."""

    envelope: Envelope
    reason: str


Planned = Outgoing | PendingEvent | Unbuildable
