"""Hospital integration: FHIR R4 (+ Subscriptions Backport) and HL7 v2 IHE PCD builders, and an MLLP client.

Pure builders live in :mod:`.fhir` and :mod:`.hl7v2` (no I/O). :mod:`.mllp` is the only module doing I/O and
is deliberately not re-exported here, so importing the builders never imports asyncio: use
``from services.integrations.mllp import MllpClient, send_with_retry``.
"""

from services.integrations.alerting import AlertCoding, AlertPriority, classify, priority_of
from services.integrations.backoff import DEFAULT_RETRY_POLICY, RetryPolicy, next_delay_s
from services.integrations.config import (
    EscalationPolicy,
    EscalationTimings,
    FhirEndpoint,
    HospitalConfig,
    MllpEndpoint,
    ObservationFeed,
    SendingApplication,
)
from services.integrations.context import (
    DeviceContext,
    GatewayContext,
    HospitalContext,
    OutboundMessage,
    PatientContext,
    eui64_from_eui48,
)
from services.integrations.errors import (
    AckTimeoutError,
    BuildError,
    IntegrationError,
    MalformedAckError,
    MllpConnectionError,
    NegativeAckError,
    ResourceValidationError,
    TransportError,
)

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "AckTimeoutError",
    "AlertCoding",
    "AlertPriority",
    "BuildError",
    "DeviceContext",
    "EscalationPolicy",
    "EscalationTimings",
    "FhirEndpoint",
    "GatewayContext",
    "HospitalConfig",
    "HospitalContext",
    "IntegrationError",
    "MalformedAckError",
    "MllpConnectionError",
    "MllpEndpoint",
    "NegativeAckError",
    "ObservationFeed",
    "OutboundMessage",
    "PatientContext",
    "ResourceValidationError",
    "RetryPolicy",
    "SendingApplication",
    "TransportError",
    "classify",
    "eui64_from_eui48",
    "next_delay_s",
    "priority_of",
]
