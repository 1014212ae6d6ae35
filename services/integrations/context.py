"""What the builders need besides the internal event: who the patient is at the hospital, which strap and gateway
measured, who sends and who receives. Plain frozen dataclasses the dispatcher fills per outbox row; and the
:class:`OutboundMessage` every ``build_*`` entry point returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

_HEX: Final = re.compile(r"^[0-9A-F]+$")
_SEPARATORS: Final = re.compile(r"[-:.\s]")


def _hex_id(value: str, digits: int, what: str) -> str:
    cleaned = _SEPARATORS.sub("", value).upper()
    if len(cleaned) != digits or not _HEX.match(cleaned):
        raise ValueError(f"{what} must be {digits} hex digits (separators - : . allowed), got {value!r}")
    return cleaned


def eui64(value: str) -> str:
    """Normalise an IEEE EUI-64 to 16 upper-case hex digits (the form IHE PCD OBX-18 / MSH-3 carry)."""
    return _hex_id(value, 16, "EUI-64")


def eui48(value: str) -> str:
    """Normalise an EUI-48 (Bluetooth device address) to 12 upper-case hex digits."""
    return _hex_id(value, 12, "EUI-48")


def dashed(hex_digits: str) -> str:
    """``0123456789ABCDEF`` -> ``01-23-45-67-89-AB-CD-EF``: the PHD IG identifier value format."""
    return "-".join(hex_digits[i : i + 2] for i in range(0, len(hex_digits), 2))


def eui64_from_eui48(address: str) -> str:
    """EUI-64 from an EUI-48 by inserting FF-FE after the OUI.

    For straps whose BLE Device Information Service has no System ID (0x2A23) characteristic, so the gateway has
    no native 11073 system id to report.

    References
    ----------
    IEEE, "Guidelines for Use of Extended Unique Identifier (EUI), Organizationally Unique Identifier (OUI), and
    Company ID (CID)": encapsulation of EUI-48 in EUI-64 with the FF-FE marker (deprecated for new assignments
    but the common convention for deriving a stable 64-bit id) [verify].
    """
    digits = eui48(address)
    return f"{digits[:6]}FFFE{digits[6:]}"


AdministrativeSex = Literal["male", "female", "other", "unknown"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientContext:
    """The patient as the hospital knows them. ``mrn`` identifies them in PID-3 and FHIR references."""

    patient_id: str  # our internal id (the events' patient_id)
    mrn: str
    mrn_system: str  # FHIR Identifier.system (URI) of the hospital's MRN
    mrn_assigning_authority: str  # HL7 CX-4 assigning authority (namespace id)
    fhir_id: str | None = None  # the Patient's id on the hospital FHIR server, when known
    family_name: str | None = None
    given_name: str | None = None
    birth_date: date | None = None
    sex: AdministrativeSex | None = None

    def __post_init__(self) -> None:
        for name in ("patient_id", "mrn", "mrn_system", "mrn_assigning_authority"):
            if not getattr(self, name):
                raise ValueError(f"PatientContext.{name} must not be empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceContext:
    """The chest strap (a Personal Health Device). ``system_id`` is its EUI-64, normalised on construction."""

    device_id: str  # our internal id (SensorHrV1.device_id)
    system_id: str
    manufacturer: str
    model_number: str
    bt_address: str | None = None
    serial_number: str | None = None
    firmware_version: str | None = None
    hardware_version: str | None = None
    software_version: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "system_id", eui64(self.system_id))
        if self.bt_address is not None:
            object.__setattr__(self, "bt_address", eui48(self.bt_address))
        if not self.device_id or not self.manufacturer or not self.model_number:
            raise ValueError("DeviceContext needs device_id, manufacturer and model_number")


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayContext:
    """The phone or hub running the ingest gateway (a Personal Health Gateway)."""

    device_id: str
    system_id: str
    manufacturer: str
    model_number: str
    software_version: str
    bt_address: str | None = None
    # How the gateway's clock is kept (MDC_TIME_SYNC_*): "ntpv4" when the OS synchronises by NTP.
    clock_sync: Literal["ntpv4", "none"] = "none"

    def __post_init__(self) -> None:
        object.__setattr__(self, "system_id", eui64(self.system_id))
        if self.bt_address is not None:
            object.__setattr__(self, "bt_address", eui48(self.bt_address))
        if not self.device_id or not self.manufacturer or not self.model_number or not self.software_version:
            raise ValueError("GatewayContext needs device_id, manufacturer, model_number and software_version")


@dataclass(frozen=True, slots=True, kw_only=True)
class HospitalContext:
    """Who sends and who receives, for one hospital (built from ``config.HospitalConfig.context()``)."""

    hospital_id: str
    # MSH-3 (HD): namespace id, universal id, universal id type. IHE PCD wants the DOR's EUI-64 here; a
    # hospital may assign an ISO OID instead ("ISO").
    sending_application: str
    sending_application_id: str
    sending_application_id_type: Literal["EUI-64", "ISO", "DNS", "GUID"]
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    processing_id: Literal["P", "T", "D"] = "P"  # MSH-11, HL7 table 0103
    patient_class: Literal["O", "R", "N", "U"] = "O"  # PV1-2, HL7 table 0004: home rehab is outpatient
    point_of_care: str | None = None  # PV1-3.1, when the hospital assigns a virtual ward to home patients


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message ready for the wire: ``message_id`` is deterministic (MSH-10 or FHIR Bundle/resource id)."""

    message_id: str
    payload: bytes
    content_type: str
    source_key: str  # the idempotency key of the internal event it was built from


CONTENT_TYPE_HL7V2: Final = "x-application/hl7-v2+er7"
CONTENT_TYPE_FHIR_JSON: Final = "application/fhir+json"
