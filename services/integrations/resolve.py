"""The builders' contexts from what the database knows about a patient and their devices (pure).

The database may not know everything a message wants; the rules for what is sent instead, each chosen so that an
alert is never held back for a missing detail:

- **Patient identifier.** The patient's MRN under the hospital's ``mrn_system`` / ``mrn_assigning_authority``
  when both exist; otherwise our own patient id under :data:`PROJECT_PATIENT_ID_SYSTEM` (assigning authority: our
  sending application). Names and birth dates are not sent: the hospital matches by identifier.
- **FHIR Patient id** on our ``/fhir`` server is :func:`fhir_patient_id` (a name-based UUID of our patient id),
  the same id the read API serves, so references in pushed resources resolve against it.
- **Strap**: the newest non-retired strap (``hrs``/``polar_h10``). Its EUI-64 comes from its Bluetooth address
  (EUI-48 with FF-FE inserted) when known, else :func:`local_eui64` of our device id. A patient without an enrolled
  strap gets a placeholder device named after the patient.
- **Gateway**: the newest non-retired ``gateway`` device, with the same fallbacks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from services.integrations import codes
from services.integrations.config import HospitalConfig
from services.integrations.context import DeviceContext, GatewayContext, PatientContext, eui48, eui64_from_eui48
from services.integrations.ids import resource_id

PROJECT_PATIENT_ID_SYSTEM: Final = f"{codes.PROJECT_CANONICAL_BASE}/sid/patient-id"
STRAP_KINDS: Final = frozenset({"hrs", "polar_h10"})
UNKNOWN: Final = "unknown"
_DEFAULT_MANUFACTURER: Final = {"polar_h10": "Polar Electro Oy"}
_DEFAULT_MODEL: Final = {"polar_h10": "H10", "hrs": "Heart Rate Service strap", "gateway": "cardiorehab gateway"}


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientFacts:
    """A patient as stored (``patients``)."""

    patient_id: str
    clinic_id: str
    display_name: str = ""
    sex: Literal["male", "female"] | None = None
    birth_year: int | None = None
    mrn: str | None = None
    archived: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceFacts:
    """A device as stored (``devices``); lists of them come newest enrolment first."""

    device_id: str
    patient_id: str
    kind: str
    address: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    retired: bool = False


def fhir_patient_id(patient_id: str) -> str:
    """The Patient's logical id on our ``/fhir`` server."""
    return resource_id("patient", patient_id)


def local_eui64(device_id: str) -> str:
    """A locally administered EUI-64 (IEEE: U/L bit set, group bit clear) derived from our device id.

    For devices whose hardware address we do not know: stable across restarts and replicas, marked as not
    globally assigned so that nobody mistakes it for a manufacturer's id.
    """
    digest = bytearray(hashlib.sha256(f"device:{device_id}".encode()).digest()[:8])
    digest[0] = (digest[0] | 0x02) & 0xFE
    return digest.hex().upper()


@dataclass(frozen=True, slots=True)
class Identification:
    """How a hospital identifies patients (from its configuration)."""

    mrn_system: str | None = None
    mrn_assigning_authority: str | None = None
    namespace: str = "CARDIOREHAB"  # our sending application: the assigning authority of our own ids

    @classmethod
    def of(cls, hospital: HospitalConfig) -> Identification:
        return cls(hospital.mrn_system, hospital.mrn_assigning_authority, hospital.sending_application.namespace)


def patient_context(patient: PatientFacts, hospital: HospitalConfig | Identification | None) -> PatientContext:
    """The patient as one hospital (or, with None, our own ``/fhir`` server) identifies them."""
    sex: Literal["male", "female"] | None = patient.sex
    ident = Identification.of(hospital) if isinstance(hospital, HospitalConfig) else hospital or Identification()
    if patient.mrn and ident.mrn_system and ident.mrn_assigning_authority:
        mrn, system, authority = patient.mrn, ident.mrn_system, ident.mrn_assigning_authority
    else:
        mrn, system, authority = patient.patient_id, PROJECT_PATIENT_ID_SYSTEM, ident.namespace
    return PatientContext(
        patient_id=patient.patient_id,
        mrn=mrn,
        mrn_system=system,
        mrn_assigning_authority=authority,
        fhir_id=fhir_patient_id(patient.patient_id),
        birth_date=None,
        sex=sex,
    )


def _system_id(device: DeviceFacts) -> str:
    if device.address:
        try:
            return eui64_from_eui48(eui48(device.address))
        except ValueError:
            pass
    return local_eui64(device.device_id)


def _bt_address(device: DeviceFacts) -> str | None:
    if not device.address:
        return None
    try:
        return eui48(device.address)
    except ValueError:
        return None


def _newest(devices: Sequence[DeviceFacts], kinds: frozenset[str]) -> DeviceFacts | None:
    return next((d for d in devices if d.kind in kinds and not d.retired), None)


def strap_context(patient_id: str, devices: Sequence[DeviceFacts]) -> DeviceContext:
    device = _newest(devices, STRAP_KINDS)
    if device is None:
        device_id = f"{patient_id}:no-strap"
        return DeviceContext(
            device_id=device_id, system_id=local_eui64(device_id), manufacturer=UNKNOWN, model_number=UNKNOWN
        )
    return strap_of(device)


def strap_of(device: DeviceFacts) -> DeviceContext:
    """One strap's context (retired or not)."""
    return DeviceContext(
        device_id=device.device_id,
        system_id=_system_id(device),
        bt_address=_bt_address(device),
        manufacturer=device.manufacturer or _DEFAULT_MANUFACTURER.get(device.kind, UNKNOWN),
        model_number=device.model or _DEFAULT_MODEL.get(device.kind, device.kind),
        serial_number=device.serial,
        firmware_version=device.firmware,
    )


def gateway_context(patient_id: str, devices: Sequence[DeviceFacts]) -> GatewayContext:
    device = _newest(devices, frozenset({"gateway"}))
    if device is None:
        device_id = f"{patient_id}:no-gateway"
        return GatewayContext(
            device_id=device_id,
            system_id=local_eui64(device_id),
            manufacturer=UNKNOWN,
            model_number=UNKNOWN,
            software_version=UNKNOWN,
        )
    return gateway_of(device)


def gateway_of(device: DeviceFacts) -> GatewayContext:
    """One gateway's context (retired or not)."""
    return GatewayContext(
        device_id=device.device_id,
        system_id=_system_id(device),
        bt_address=_bt_address(device),
        manufacturer=device.manufacturer or UNKNOWN,
        model_number=device.model or _DEFAULT_MODEL["gateway"],
        software_version=device.firmware or UNKNOWN,
    )
