"""A hospital's configuration as it is stored and edited: :class:`~services.integrations.config.HospitalConfig` with
every credential replaced by a reference (see :mod:`services.integrations.credentials`).

This is the body clinic administrators send (``/api/v1/clinics/{clinic_id}/hospitals``) and what the repository
stores. Validation is the same as :class:`HospitalConfig`'s (the model validator builds one with placeholder
secrets), so a configuration that would be refused at dispatch time is refused when it is written. Only the
dispatcher calls :meth:`StoredHospitalConfig.resolved`, which reads the real secrets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, ValidationError, model_validator

from analytics.events import Tier
from services.integrations.config import (
    DEFAULT_ALERT_TIERS,
    EscalationPolicy,
    FhirEndpoint,
    HospitalConfig,
    MllpEndpoint,
    ObservationFeed,
    SendingApplication,
)
from services.integrations.credentials import CredentialRef

_FROZEN: Final = ConfigDict(frozen=True, extra="forbid")
# Stands in for a secret while validating or planning; never sent (only ``resolved`` configs reach a transport).
UNRESOLVED_SECRET: Final = SecretStr("<unresolved credential reference>")
ENDPOINT_FIELDS: Final = ("fhir", "mllp")


class StoredFhirEndpoint(BaseModel):
    """:class:`FhirEndpoint` with ``bearer_token_ref`` (``env:NAME`` / ``file:/path``, or null for none)."""

    model_config = _FROZEN

    rest_hook_url: HttpUrl
    bearer_token_ref: CredentialRef | None = Field(
        description="where the dispatcher reads the bearer token: env:NAME or file:/path; null: no token (mTLS)"
    )
    headers: dict[str, str] = Field(default_factory=dict, description="non-secret extra headers")
    content: Literal["id-only", "full-resource"] = "id-only"
    heartbeat_period_s: int | None = Field(default=60, ge=1, le=86_400)
    timeout_s: int = Field(default=10, ge=1, le=300)

    def endpoint(self, token: SecretStr | None) -> FhirEndpoint:
        data = self.model_dump(exclude={"bearer_token_ref"})
        return FhirEndpoint.model_validate({**data, "bearer_token": token})


class StoredHospitalConfig(BaseModel):
    """Every :class:`HospitalConfig` field, credentials as references; see the module docstring."""

    model_config = _FROZEN

    hospital_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    sending_application: SendingApplication
    sending_facility: str = Field(min_length=1, max_length=180)
    receiving_application: str = Field(min_length=1, max_length=180)
    receiving_facility: str = Field(min_length=1, max_length=180)
    processing_id: Literal["P", "T", "D"] = "P"
    patient_class: Literal["O", "R", "N", "U"] = "O"
    point_of_care: str | None = Field(default=None, min_length=1, max_length=80)
    fhir: StoredFhirEndpoint | None = None
    mllp: MllpEndpoint | None = None
    alert_tiers: frozenset[Tier] = DEFAULT_ALERT_TIERS
    alert_rules: frozenset[str] | None = None
    send_alerts_pcd04: bool = False
    observations: ObservationFeed = Field(default_factory=ObservationFeed)
    escalation: EscalationPolicy = Field(default_factory=EscalationPolicy)
    mrn_system: str | None = Field(default=None, min_length=1, max_length=255)
    mrn_assigning_authority: str | None = Field(default=None, min_length=1, max_length=64)
    send_session_summaries: bool = True

    @model_validator(mode="after")
    def _valid_as_hospital_config(self) -> Self:
        try:
            self.unresolved()
        except ValidationError as exc:
            reasons = "; ".join(str(error["msg"]) for error in exc.errors())
            raise ValueError(reasons) from None
        return self

    def _build(self, token: SecretStr | None) -> HospitalConfig:
        data: dict[str, Any] = self.model_dump(exclude={"fhir"})
        data["mllp"] = self.mllp
        data["fhir"] = None if self.fhir is None else self.fhir.endpoint(token)
        return HospitalConfig.model_validate(data)

    def unresolved(self) -> HospitalConfig:
        """The config with a placeholder for the secret: for validation and for building payloads, never sending."""
        return self._build(None if self.fhir is None or self.fhir.bearer_token_ref is None else UNRESOLVED_SECRET)

    def resolved(self, secret: Callable[[str], SecretStr]) -> HospitalConfig:
        """The config with real secrets; ``secret`` maps a reference to its value (see credentials.py)."""
        if self.fhir is None or self.fhir.bearer_token_ref is None:
            return self._build(None)
        return self._build(secret(self.fhir.bearer_token_ref))

    def settings_part(self) -> dict[str, Any]:
        """What the ``hospitals.settings`` column holds: everything but the id and the endpoints."""
        return self.model_dump(mode="json", exclude={"hospital_id", *ENDPOINT_FIELDS})

    @classmethod
    def from_parts(
        cls,
        hospital_id: str,
        settings: dict[str, Any],
        fhir: dict[str, Any] | None,
        fhir_credential_ref: str | None,
        mllp: dict[str, Any] | None,
    ) -> StoredHospitalConfig:
        """Reassemble a stored configuration from the rows of ``hospitals`` and ``hospital_endpoints``."""
        data: dict[str, Any] = {**settings, "hospital_id": hospital_id, "mllp": mllp}
        data["fhir"] = None if fhir is None else {**fhir, "bearer_token_ref": fhir_credential_ref}
        return cls.model_validate(data)

    def fhir_part(self) -> tuple[dict[str, Any], str | None] | None:
        """The FHIR endpoint row: its settings without the reference, and the reference."""
        if self.fhir is None:
            return None
        return self.fhir.model_dump(mode="json", exclude={"bearer_token_ref"}), self.fhir.bearer_token_ref

    def mllp_part(self) -> dict[str, Any] | None:
        return None if self.mllp is None else self.mllp.model_dump(mode="json")
