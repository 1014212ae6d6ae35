"""IHE PCD ACM PCD-04 Report Alert: one ``alerts.v1`` lifecycle step as ORU^R40 (v2.6 plus IHE pre-adoption).

Structure: MSH (MSH-9 ``ORU^R40^ORU_R40``, MSH-21 ``IHE_PCD_ACM_001``), PID, PV1, one OBR (OBR-3 = the alert
instance, stable over start/update/end; OBR-4 ``196616^MDC_EVT_ALARM^MDC``), then one OBX per alert facet.
OBX-4 is ``<source containment>.<facet>``: the heart-rate metric ``1.0.0.1`` or, for technical alerts, the MDS
``1.0.0.0`` (same tree as pcd01.py).

===== ====================================== ========================================================
facet OBX-3                                  OBX-5
===== ====================================== ========================================================
1     alert type (MDC_EVT_HI / _LO / _ALARM) alert text; OBX-8 = abnormality ~ priority ~ alert type
2     source: 147842 heart rate (NM, limit   the value that triggered it / the strap's MDS code
      in OBX-7) or 68480 MDC_ATTR_ALERT_SOURCE
3     68481 MDC_ATTR_EVENT_PHASE             start | update | end
4     68482 MDC_ATTR_ALARM_STATE             active | inactive
5     68483 MDC_ATTR_ALARM_INACTIVATION_STATE enabled
6     68484 MDC_ATTR_ALARM_PRIORITY          PH | PM | PL | PN
7     68485 MDC_ATTR_ALERT_TYPE              SP | ST
===== ====================================== ========================================================

The ACM supplement puts priority and alert type in OBX-8 of facet 1 ("Alarm Priority and Alarm Source are given
in the OBX-8 Abnormal Flags field of the facet 1 OBX segment"); later PCD-04 senders also send them as facets 6
and 7, and we send both so either kind of receiver finds them.

Lifecycle mapping: raised -> phase ``start``, state ``active``; updated -> ``update``, ``active``; cleared ->
``end``, ``inactive``. ACM's ``tpoint`` phase is for alerts without duration; ours always have a start and an
end, so it is not used. Inactivation state is ``enabled`` (acknowledgement/silencing happens in services and is
not on ``AlertV1``); ``latched`` is never sent for the same reason.

Deviations from base HL7 v2.6 that IHE ACM requires (documented in the report to the lead):

- Event R40 and structure ORU_R40 are not in v2.6 (R40 appears in later versions' table 0003, where ORU^R40 uses
  the ORU_R01 structure). hl7apy validates the body against the v2.6 ORU_R01 structure, which has the same
  segments; MSH-9 carries IHE's ``ORU^R40^ORU_R40``.
- OBX-8 values PH/PM/PL/PN and SP/ST are IHE ACM additions to HL7 table 0078.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from analytics.events import AlertV1
from services.integrations import alerting, codes
from services.integrations.context import (
    CONTENT_TYPE_HL7V2,
    DeviceContext,
    HospitalContext,
    OutboundMessage,
    PatientContext,
)
from services.integrations.errors import BuildError
from services.integrations.hl7v2.common import (
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
from services.integrations.hl7v2.pcd01 import HEART_RATE_SUB_ID, MDS_SUB_ID
from services.integrations.ids import control_id
from services.integrations.timestamps import hl7_dtm

MESSAGE_TYPE: Final = "ORU^R40^ORU_R40"
CONTROL_ID_KIND: Final = "pcd04"
ESCALATION_CONTROL_ID_KIND: Final = "pcd04-escalation"
ALERT_INSTANCE_KIND: Final = "pcd04-alert"
ESCALATION_TARGETS: Final[dict[int, str]] = {1: "charge nurse", 2: "on-call physician", 3: "emergency services"}

EventPhase = Literal["start", "update", "end"]
AlarmState = Literal["active", "inactive"]

EVENT_PHASE: Final[dict[str, EventPhase]] = {"raised": "start", "updated": "update", "cleared": "end"}
ALARM_STATE: Final[dict[str, AlarmState]] = {"raised": "active", "updated": "active", "cleared": "inactive"}
INACTIVATION_ENABLED: Final = "enabled"


def _limit(alert: AlertV1) -> str:
    """OBX-7 of the source facet: the side of the threshold that is normal (``<140`` for a high alert)."""
    if alert.value is None or alert.threshold is None or alert.value == alert.threshold:
        return ""
    return f"<{number(alert.threshold)}" if alert.value > alert.threshold else f">{number(alert.threshold)}"


def pcd04_message(
    alert: AlertV1, *, patient: PatientContext, strap: DeviceContext, hospital: HospitalContext
) -> OutboundMessage:
    """ORU^R40 for one alert lifecycle step; MSH-10 from ``alert_id:revision``, OBR-3 from ``alert_id``."""
    key = alert.idempotency_key()
    return _build(
        alert, key, control_id(CONTROL_ID_KIND, key), alert.message, patient=patient, strap=strap, hospital=hospital
    )


def pcd04_escalation_message(
    alert: AlertV1,
    level: int,
    *,
    unacknowledged_s: float,
    patient: PatientContext,
    strap: DeviceContext,
    hospital: HospitalContext,
) -> OutboundMessage:
    """ORU^R40 telling the hospital that an active alert stayed unacknowledged and was escalated to ``level``.

    An ``update`` of the same alert instance (OBR-3 from ``alert_id``), in its current state (``alert`` as the
    engine last reported it, with ``t_ns`` the time of the escalation), with the escalation in the alert text of
    facet 1. MSH-10
    comes from ``alert_id`` and the level, so each escalation level is one message whatever the engine revision.
    """
    if alert.event == "cleared":
        raise BuildError(f"alert {alert.alert_id} is cleared; a cleared alert is not escalated")
    if level not in ESCALATION_TARGETS:
        raise BuildError(f"escalation level {level} is not one of {sorted(ESCALATION_TARGETS)}")
    key = f"{alert.alert_id}:L{level}"
    text = (
        f"ESCALATED to {ESCALATION_TARGETS[level]} (level {level}): unacknowledged for {unacknowledged_s:.0f} s. "
        f"{alert.message}"
    )
    update = alert if alert.event == "updated" else msgspec.structs.replace(alert, event="updated")
    return _build(
        update, key, control_id(ESCALATION_CONTROL_ID_KIND, key), text, patient=patient, strap=strap, hospital=hospital
    )


def _build(
    alert: AlertV1,
    key: str,
    msh10: str,
    text: str,
    *,
    patient: PatientContext,
    strap: DeviceContext,
    hospital: HospitalContext,
) -> OutboundMessage:
    coding = alerting.classify(alert)
    priority = alerting.ACM_PRIORITY[alerting.priority_of(alert.tier)]
    alert_type = alerting.ACM_ALERT_TYPE[coding.kind]
    when = hl7_dtm(alert.t_ns)
    sender = sending_application(hospital)
    source = HEART_RATE_SUB_ID if coding.source == "heart_rate" else MDS_SUB_ID

    message = new_message()
    fill_msh(
        message,
        hospital,
        message_type=MESSAGE_TYPE,
        control_id=msh10,
        time_ns=alert.t_ns,
        profile=codes.IHE_PCD_ACM_001_PROFILE,
    )
    result = add_patient(message, patient, hospital)
    order = result.add_group("ORU_R01_ORDER_OBSERVATION")
    obr = order.obr
    obr.obr_1 = "1"
    obr.obr_3 = f"{control_id(ALERT_INSTANCE_KIND, alert.alert_id)}^{sender}"
    obr.obr_4 = cwe(codes.MDC_EVT_ALARM)
    obr.obr_7 = when

    flags = [f for f in (coding.abnormality, priority, alert_type) if f]
    add_obx(
        order,
        1,
        {
            2: "ST",
            3: cwe(coding.event),
            4: f"{source}.1",
            5: escape(text),
            8: flags,
            11: RESULT_STATUS_UNVERIFIED,
            14: when,
            18: equipment_id(strap),
        },
    )
    if coding.source == "heart_rate" and alert.value is not None:
        source_fields = {
            2: "NM",
            3: cwe(codes.MDC_ECG_HEART_RATE),
            5: number(alert.value),
            6: cwe(codes.MDC_DIM_BEAT_PER_MIN),
        }
        if limit := _limit(alert):
            source_fields[7] = limit
    else:
        source_fields = {2: "CWE", 3: cwe(codes.MDC_ATTR_ALERT_SOURCE), 5: cwe(codes.MDC_MOC_VMS_MDS_SIMP)}
    source_fields.update({4: f"{source}.2", 11: RESULT_STATUS_UNVERIFIED, 14: when, 18: equipment_id(strap)})
    add_obx(order, 2, source_fields)
    facets = [
        (codes.MDC_ATTR_EVENT_PHASE, EVENT_PHASE[alert.event]),
        (codes.MDC_ATTR_ALARM_STATE, ALARM_STATE[alert.event]),
        (codes.MDC_ATTR_ALARM_INACTIVATION_STATE, INACTIVATION_ENABLED),
        (codes.MDC_ATTR_ALARM_PRIORITY, priority),
        (codes.MDC_ATTR_ALERT_TYPE, alert_type),
    ]
    for facet, (attribute, value) in enumerate(facets, start=3):
        add_obx(
            order,
            facet,
            {2: "ST", 3: cwe(attribute), 4: f"{source}.{facet}", 5: value, 11: RESULT_STATUS_UNVERIFIED},
        )
    return OutboundMessage(
        message_id=msh10,
        payload=finish(message, "PCD-04 ORU^R40"),
        content_type=CONTENT_TYPE_HL7V2,
        source_key=key,
    )
