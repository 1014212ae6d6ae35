"""PCD-04 escalation: an update of the same alert instance, its own MSH-10 per level, validated with hl7apy."""

from __future__ import annotations

import hl7
import msgspec
import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from services.integrations.errors import BuildError
from services.integrations.hl7v2.pcd04 import pcd04_escalation_message, pcd04_message
from services.integrations.ids import control_id


def _parse(payload: bytes) -> hl7.Message:
    text = payload.decode("utf-8")
    strict = parse_message(
        text.replace("|ORU^R40^ORU_R40|", "|ORU^R40^ORU_R01|"),
        validation_level=VALIDATION_LEVEL.STRICT,
        find_groups=True,
    )
    assert strict.validate() is True
    return hl7.parse(text)


def test_escalation_is_an_update_of_the_same_alert_with_its_own_control_id(
    make_alert, patient, strap, hospital
) -> None:
    raised = make_alert("raised")
    original = _parse(pcd04_message(raised, patient=patient, strap=strap, hospital=hospital).payload)
    out = pcd04_escalation_message(raised, 2, unacknowledged_s=183.4, patient=patient, strap=strap, hospital=hospital)
    msg = _parse(out.payload)
    assert out.message_id == control_id("pcd04-escalation", f"{raised.alert_id}:L2") == str(msg.segment("MSH")[10])
    assert str(msg.segment("OBR")[3]) == str(original.segment("OBR")[3])
    facets = {str(obx[3]).split("^")[1]: obx for obx in msg.segments("OBX")}
    assert str(facets["MDC_ATTR_EVENT_PHASE"][5]) == "update"
    text = msg.unescape(str(facets["MDC_EVT_HI"][5]))
    assert text.startswith("ESCALATED to on-call physician (level 2): unacknowledged for 183 s.")
    level1 = pcd04_escalation_message(raised, 1, unacknowledged_s=60, patient=patient, strap=strap, hospital=hospital)
    assert level1.message_id != out.message_id


def test_cleared_alerts_and_unknown_levels_are_refused(make_alert, patient, strap, hospital) -> None:
    with pytest.raises(BuildError, match="cleared"):
        pcd04_escalation_message(
            make_alert("cleared", revision=2), 2, unacknowledged_s=1, patient=patient, strap=strap, hospital=hospital
        )
    with pytest.raises(BuildError, match="level 4"):
        pcd04_escalation_message(
            make_alert("raised"), 4, unacknowledged_s=1, patient=patient, strap=strap, hospital=hospital
        )
    updated = msgspec.structs.replace(make_alert("raised"), event="updated")
    assert pcd04_escalation_message(updated, 2, unacknowledged_s=1, patient=patient, strap=strap, hospital=hospital)
