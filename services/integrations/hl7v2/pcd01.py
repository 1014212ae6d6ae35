"""IHE PCD-01 Communicate PCD Data: one ``features.v1`` second as ORU^R01 v2.6.

Segments: MSH (MSH-21 ``IHE_PCD_001``), PID, PV1, OBR, then OBX rows in the device containment tree
(uv-pocd mappingv2.md, "OBX-4 Observation Sub-ID": MDS.VMD.channel.metric, trailing zeros for device rows):

- ``1.0.0.0`` device row: the strap's specialization (MDC_DEV_SPEC_PROFILE_HF_CARDIO), no value, OBX-11 ``X``,
  OBX-18 its EUI-64. A PHD has one simple MDS and no VMD or channel, hence ``1.0.0.n`` for its metrics
  (the Continua PCD-01 convention).
- ``1.0.0.1`` heart rate: NM, ``147842^MDC_ECG_HEART_RATE^MDC``, OBX-6 ``264864^MDC_DIM_BEAT_PER_MIN^MDC``,
  OBX-7 the prescribed band (IHE PCD: the limits set for this patient), OBX-8 abnormal flag, OBX-11 ``R``,
  OBX-14 the second it describes, OBX-18 the strap's EUI-64.

OBR: OBR-2 placer = the rehab session (the nearest thing to an order in unsolicited monitoring), OBR-3 filler =
this report, OBR-4 ``monitoring of patient``, OBR-7 the observation time.
"""

from __future__ import annotations

from typing import Final

from analytics.events import FeaturesV1
from services.integrations import codes
from services.integrations.context import (
    CONTENT_TYPE_HL7V2,
    DeviceContext,
    HospitalContext,
    OutboundMessage,
    PatientContext,
)
from services.integrations.errors import BuildError
from services.integrations.hl7v2.common import (
    RESULT_STATUS_NO_VALUE,
    RESULT_STATUS_UNVERIFIED,
    add_obx,
    add_patient,
    cwe,
    equipment_id,
    escape,
    fill_msh,
    finish,
    new_message,
    number,
    sending_application,
)
from services.integrations.ids import control_id
from services.integrations.timestamps import NS_PER_S, hl7_dtm_s

MESSAGE_TYPE: Final = "ORU^R01^ORU_R01"
CONTROL_ID_KIND: Final = "pcd01"
MDS_SUB_ID: Final = "1.0.0.0"
HEART_RATE_SUB_ID: Final = "1.0.0.1"


def abnormal_flag(features: FeaturesV1) -> str:
    """OBX-8 (HL7 table 0078): HH above the ceiling, H/L outside the band, N inside, empty when no band."""
    hr = features.hr_bpm
    if hr is None:
        return ""
    if features.ceiling_bpm is not None and hr > features.ceiling_bpm:
        return "HH"
    if features.band_high_bpm is not None and hr > features.band_high_bpm:
        return "H"
    if features.band_low_bpm is not None and hr < features.band_low_bpm:
        return "L"
    return "N" if features.band_low_bpm is not None and features.band_high_bpm is not None else ""


def reference_range(features: FeaturesV1) -> str:
    """OBX-7: ``low-high`` of the prescribed band, or empty when the features carry none."""
    if features.band_low_bpm is None or features.band_high_bpm is None:
        return ""
    return f"{number(features.band_low_bpm)}-{number(features.band_high_bpm)}"


def pcd01_message(
    features: FeaturesV1, *, patient: PatientContext, strap: DeviceContext, hospital: HospitalContext
) -> OutboundMessage:
    """ORU^R01 for one second of heart rate; MSH-10 is derived from the features' idempotency key."""
    if features.hr_bpm is None:
        raise BuildError(f"features {features.idempotency_key()} carry no heart rate (signal {features.signal})")
    key = features.idempotency_key()
    msh10 = control_id(CONTROL_ID_KIND, key)
    when = hl7_dtm_s(features.t_s)
    sender = sending_application(hospital)

    message = new_message()
    fill_msh(
        message,
        hospital,
        message_type=MESSAGE_TYPE,
        control_id=msh10,
        time_ns=features.t_s * NS_PER_S,
        profile=codes.IHE_PCD_001_PROFILE,
    )
    result = add_patient(message, patient, hospital)
    order = result.add_group("ORU_R01_ORDER_OBSERVATION")
    obr = order.obr
    obr.obr_1 = "1"
    if features.session_id:
        obr.obr_2 = f"{escape(features.session_id)}^{sender}"
    obr.obr_3 = f"{msh10}^{sender}"
    obr.obr_4 = codes.OBR4_MONITORING_OF_PATIENT
    obr.obr_7 = when

    add_obx(
        order,
        1,
        {
            3: cwe(codes.MDC_DEV_SPEC_PROFILE_HF_CARDIO),
            4: MDS_SUB_ID,
            11: RESULT_STATUS_NO_VALUE,
            14: when,
            18: equipment_id(strap),
        },
    )
    hr_fields = {
        2: "NM",
        3: cwe(codes.MDC_ECG_HEART_RATE),
        4: HEART_RATE_SUB_ID,
        5: number(features.hr_bpm),
        6: cwe(codes.MDC_DIM_BEAT_PER_MIN),
        11: RESULT_STATUS_UNVERIFIED,
        14: when,
        18: equipment_id(strap),
    }
    if band := reference_range(features):
        hr_fields[7] = band
    if flag := abnormal_flag(features):
        hr_fields[8] = flag
    add_obx(order, 2, hr_fields)
    return OutboundMessage(
        message_id=msh10,
        payload=finish(message, "PCD-01 ORU^R01"),
        content_type=CONTENT_TYPE_HL7V2,
        source_key=key,
    )
