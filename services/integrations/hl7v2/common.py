"""Shared HL7 v2.6 building blocks for the IHE PCD messages: escaping, MSH, PID/PV1, OBX, strict validation.

Messages are built with ``hl7apy`` at ``VALIDATION_LEVEL.STRICT`` against the v2.6 ORU_R01 structure and
validated before they leave :func:`finish`. Field values are assigned as ER7 text; every piece of free text or
identifier that comes from outside goes through :func:`escape` first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.exceptions import HL7apyException

from services.integrations import codes
from services.integrations.codes import Code
from services.integrations.context import DeviceContext, HospitalContext, PatientContext
from services.integrations.errors import ResourceValidationError
from services.integrations.timestamps import hl7_dtm

HL7_VERSION: Final = "2.6"
# MSH-15 AL, MSH-16 NE: IHE PCD TF-2 requires these for PCD-01 and PCD-04 (CLINICAL.md section 3).
ACCEPT_ACK_ALWAYS: Final = "AL"
APPLICATION_ACK_NEVER: Final = "NE"
# MSH-18, HL7 table 0211: we always encode UTF-8 and say so.
CHARSET_UTF8: Final = "UNICODE UTF-8"
# OBX-11 "R": raw device measurement, not reviewed (uv-pocd mappingv2.md, OBX-8/OBX-11 measurement status table).
RESULT_STATUS_UNVERIFIED: Final = "R"
# OBX-11 "X": results cannot be obtained for this observation; IHE PCD uses it on device-related OBX rows that
# describe the device rather than carry a value.
RESULT_STATUS_NO_VALUE: Final = "X"

# HL7 v2 escape sequences (v2.6 section 2.7.4) for the default delimiters |^~\& ; segment breaks become spaces.
_ESCAPES: Final = str.maketrans(
    {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\", "\r": " ", "\n": " "}
)

_SEX: Final = {"male": "M", "female": "F", "other": "O", "unknown": "U"}  # PID-8, HL7 table 0001


def escape(text: str) -> str:
    """Escape HL7 delimiters in free text so it stays inside one component."""
    return text.translate(_ESCAPES)


def cwe(code: Code) -> str:
    """``code^display^MDC`` for an MDC code (IHE PCD writes the coding system as ``MDC``)."""
    if code.system != codes.MDC:
        raise ValueError(f"{code.code} is not an MDC code")
    return f"{code.code}^{code.display}^MDC"


def equipment_id(strap: DeviceContext) -> str:
    """OBX-18 (EI): our device id ^ ^ EUI-64 ^ ``EUI-64`` (uv-pocd: identify the source by its EUI-64)."""
    return f"{escape(strap.device_id)}^^{strap.system_id}^EUI-64"


def sending_application(hospital: HospitalContext) -> str:
    return (
        f"{escape(hospital.sending_application)}^{escape(hospital.sending_application_id)}"
        f"^{hospital.sending_application_id_type}"
    )


def new_message() -> Any:
    """An empty v2.6 ORU_R01 under strict validation (PCD-04 uses the same structure, see pcd04.py)."""
    return Message("ORU_R01", version=HL7_VERSION, validation_level=VALIDATION_LEVEL.STRICT)


def fill_msh(
    message: Any,
    hospital: HospitalContext,
    *,
    message_type: str,
    control_id: str,
    time_ns: int,
    profile: str,
) -> None:
    msh = message.msh
    msh.msh_3 = sending_application(hospital)
    msh.msh_4 = escape(hospital.sending_facility)
    msh.msh_5 = escape(hospital.receiving_application)
    msh.msh_6 = escape(hospital.receiving_facility)
    msh.msh_7 = hl7_dtm(time_ns)
    msh.msh_9 = message_type
    msh.msh_10 = control_id
    msh.msh_11 = hospital.processing_id
    msh.msh_12 = HL7_VERSION
    msh.msh_15 = ACCEPT_ACK_ALWAYS
    msh.msh_16 = APPLICATION_ACK_NEVER
    msh.msh_18 = CHARSET_UTF8
    msh.msh_21 = profile


def add_patient(message: Any, patient: PatientContext, hospital: HospitalContext) -> Any:
    """PID and PV1 in a new PATIENT_RESULT group; returns the group for the ORDER_OBSERVATION to follow.

    PID-5 is required by v2.6; when the name is unknown to us it is sent as name type ``U`` (unspecified,
    HL7 table 0200) rather than an invented name.
    """
    result = message.add_group("ORU_R01_PATIENT_RESULT")
    group = result.add_group("ORU_R01_PATIENT")
    pid = group.pid
    pid.pid_3 = f"{escape(patient.mrn)}^^^{escape(patient.mrn_assigning_authority)}^MR"
    if patient.family_name or patient.given_name:
        pid.pid_5 = f"{escape(patient.family_name or '')}^{escape(patient.given_name or '')}^^^^^L"
    else:
        pid.pid_5 = "^^^^^^U"
    if patient.birth_date is not None:
        pid.pid_7 = patient.birth_date.strftime("%Y%m%d")
    if patient.sex is not None:
        pid.pid_8 = _SEX[patient.sex]
    pv1 = group.add_group("ORU_R01_VISIT").pv1
    pv1.pv1_2 = hospital.patient_class
    if hospital.point_of_care:
        pv1.pv1_3 = escape(hospital.point_of_care)
    return result


def add_obx(order: Any, set_id: int, fields: Mapping[int, str | Sequence[str]]) -> None:
    """One OBX in a new OBSERVATION group; ``fields`` maps OBX field number to ER7 text, or to a list of
    repetitions (hl7apy escapes a literal ``~`` inside one value, so repetitions are added as fields)."""
    obx = order.add_group("ORU_R01_OBSERVATION").obx
    obx.obx_1 = str(set_id)
    for field_number, value in sorted(fields.items()):
        if isinstance(value, str):
            setattr(obx, f"obx_{field_number}", value)
            continue
        for repetition in value:
            obx.add_field(f"OBX_{field_number}").value = repetition


def finish(message: Any, what: str) -> bytes:
    """Validate strictly and serialise (segments separated by CR, no MLLP framing)."""
    try:
        message.validate()
        text: str = message.to_er7()
    except HL7apyException as exc:
        raise ResourceValidationError(what, str(exc)) from exc
    return text.encode("utf-8")


def number(value: float) -> str:
    """An NM value without a spurious ``.0`` (``72`` not ``72.0``, ``71.5`` stays)."""
    return f"{value:g}"
