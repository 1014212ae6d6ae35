"""Per-hospital integration configuration: endpoints, credentials, what to send, cadence, escalation timings.

A pure pydantic model (no I/O, no environment reading): the deployable's settings class loads one
:class:`HospitalConfig` per hospital and hands it to the dispatcher. Credentials are ``SecretStr`` with no
default, so a config that forgets one fails at load time instead of sending unauthenticated.

Defaults that are project choices, not taken from a guideline (each hospital should set its own):

- ``ObservationFeed.cadence_s = 60``: one PCD-01 per patient per minute. Flowsheets chart vitals at minute
  resolution at best; 1 Hz would flood an interface engine with 3,600 messages per patient-hour.
- ``FhirEndpoint.heartbeat_period_s = 60``: a silent channel is noticed within about a minute (loss of
  monitoring is itself an alarm, CLINICAL.md key conclusions).
- ``EscalationPolicy``: urgent alerts unacknowledged for 60 s go to the charge nurse and after a further 120 s
  to the hospital channel; nurse-tier alerts after 300 s and a further 600 s. CLINICAL.md section 4 (item 4)
  establishes the need for escalation of unacknowledged alerts but gives no timings, and we found no guideline
  that does; these are conservative placeholders to be replaced by the hospital's alarm-management policy.
  Patient cues never escalate: they are addressed to the patient.
"""

from __future__ import annotations

from typing import Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator, model_validator

from analytics.events import AlertV1, Tier
from services.integrations.context import HospitalContext, eui64

DEFAULT_ALERT_TIERS: Final[frozenset[Tier]] = frozenset({"urgent", "nurse"})
_FROZEN: Final = ConfigDict(frozen=True, extra="forbid")


class SendingApplication(BaseModel):
    """MSH-3: namespace, and a universal id (IHE PCD: the sender's EUI-64; or an OID the hospital assigns)."""

    model_config = _FROZEN

    namespace: str = Field(default="CARDIOREHAB", min_length=1, max_length=20)
    universal_id: str = Field(min_length=1)
    universal_id_type: Literal["EUI-64", "ISO", "DNS", "GUID"] = "EUI-64"

    @model_validator(mode="after")
    def _eui64_is_hex(self) -> Self:
        if self.universal_id_type == "EUI-64":
            eui64(self.universal_id)
        return self


class FhirEndpoint(BaseModel):
    """Where rest-hook notifications go (Subscriptions Backport), and how we authenticate."""

    model_config = _FROZEN

    rest_hook_url: HttpUrl
    bearer_token: SecretStr | None  # required, no default: say explicitly when a hospital uses none (e.g. mTLS)
    headers: dict[str, str] = Field(default_factory=dict)  # non-secret extra headers only
    content: Literal["id-only", "full-resource"] = "id-only"
    heartbeat_period_s: int | None = Field(default=60, ge=1)
    timeout_s: int = Field(default=10, ge=1, le=300)

    @field_validator("rest_hook_url")
    @classmethod
    def _https_only(cls, url: HttpUrl) -> HttpUrl:
        if url.scheme != "https":
            raise ValueError("the rest-hook URL must use https: notifications carry patient data")
        return url

    @field_validator("headers")
    @classmethod
    def _no_credentials_in_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        if any(name.lower() in {"authorization", "proxy-authorization", "cookie"} for name in headers):
            raise ValueError("put credentials in bearer_token (a SecretStr), not in plain headers")
        return headers


class MllpEndpoint(BaseModel):
    """The hospital's MLLP listener (interface engine) for PCD-01 / PCD-04."""

    model_config = _FROZEN

    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    tls: bool = False
    connect_timeout_s: float = Field(default=10.0, gt=0, le=120)
    ack_timeout_s: float = Field(default=30.0, gt=0, le=300)


class ObservationFeed(BaseModel):
    """Whether to send observations, and how often (per patient)."""

    model_config = _FROZEN

    send_pcd01: bool = False
    send_fhir: bool = False
    cadence_s: int = Field(default=60, ge=1, le=3600)

    def due(self, last_sent_s: int | None, t_s: int) -> bool:
        """Whether a features second ``t_s`` should be sent, given the last one sent for this patient."""
        return last_sent_s is None or t_s - last_sent_s >= self.cadence_s


class EscalationTimings(BaseModel):
    """Seconds unacknowledged before each escalation step (nurse -> charge nurse -> hospital channel)."""

    model_config = _FROZEN

    to_charge_nurse_s: float = Field(gt=0)
    to_hospital_channel_s: float = Field(gt=0)  # counted from the charge-nurse step


class EscalationPolicy(BaseModel):
    model_config = _FROZEN

    urgent: EscalationTimings = EscalationTimings(to_charge_nurse_s=60, to_hospital_channel_s=120)
    nurse: EscalationTimings = EscalationTimings(to_charge_nurse_s=300, to_hospital_channel_s=600)

    def for_tier(self, tier: Tier) -> EscalationTimings | None:
        """The timings for a tier; None for patient cues, which do not escalate."""
        if tier == "urgent":
            return self.urgent
        if tier == "nurse":
            return self.nurse
        return None


class HospitalConfig(BaseModel):
    """Everything the integration needs to know about one hospital."""

    model_config = _FROZEN

    hospital_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    sending_application: SendingApplication
    sending_facility: str = Field(min_length=1)
    receiving_application: str = Field(min_length=1)
    receiving_facility: str = Field(min_length=1)
    processing_id: Literal["P", "T", "D"] = "P"
    patient_class: Literal["O", "R", "N", "U"] = "O"
    point_of_care: str | None = None
    fhir: FhirEndpoint | None = None
    mllp: MllpEndpoint | None = None
    alert_tiers: frozenset[Tier] = DEFAULT_ALERT_TIERS
    alert_rules: frozenset[str] | None = None  # None: every rule
    send_alerts_pcd04: bool = False
    observations: ObservationFeed = Field(default_factory=ObservationFeed)
    escalation: EscalationPolicy = Field(default_factory=EscalationPolicy)
    # How the hospital identifies patients: FHIR Identifier.system (URI) and HL7 CX-4 assigning authority of its
    # MRNs. None: patients are sent with our own patient id under the project's identifier system (a hospital that
    # has not mapped its MRNs can still match them, and an urgent alert is never held back for a missing MRN).
    mrn_system: str | None = Field(default=None, min_length=1, max_length=255)
    mrn_assigning_authority: str | None = Field(default=None, min_length=1, max_length=64)
    send_session_summaries: bool = True  # FHIR session-summary Bundles to subscribers of the session topic

    @model_validator(mode="after")
    def _endpoints_exist(self) -> Self:
        if self.fhir is None and self.mllp is None:
            raise ValueError(f"hospital {self.hospital_id}: configure at least one of fhir or mllp")
        if (self.observations.send_pcd01 or self.send_alerts_pcd04) and self.mllp is None:
            raise ValueError(f"hospital {self.hospital_id}: PCD-01/PCD-04 need an mllp endpoint")
        if self.observations.send_fhir and self.fhir is None:
            raise ValueError(f"hospital {self.hospital_id}: FHIR observations need a fhir endpoint")
        if not self.alert_tiers:
            raise ValueError(f"hospital {self.hospital_id}: alert_tiers is empty; list the tiers to send")
        return self

    def wants_alert(self, alert: AlertV1) -> bool:
        """Whether this hospital receives this alert (its tier and, if restricted, its rule)."""
        if alert.tier not in self.alert_tiers:
            return False
        return self.alert_rules is None or alert.rule in self.alert_rules

    def context(self) -> HospitalContext:
        """The builders' view of this hospital."""
        return HospitalContext(
            hospital_id=self.hospital_id,
            sending_application=self.sending_application.namespace,
            sending_application_id=(
                eui64(self.sending_application.universal_id)
                if self.sending_application.universal_id_type == "EUI-64"
                else self.sending_application.universal_id
            ),
            sending_application_id_type=self.sending_application.universal_id_type,
            sending_facility=self.sending_facility,
            receiving_application=self.receiving_application,
            receiving_facility=self.receiving_facility,
            processing_id=self.processing_id,
            patient_class=self.patient_class,
            point_of_care=self.point_of_care,
        )
