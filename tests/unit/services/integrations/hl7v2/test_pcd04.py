"""PCD-04 ORU^R40: ACM facets across raise/update/clear, priorities, validation with hl7apy and hl7."""

from __future__ import annotations

import hl7
import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from services.integrations.hl7v2.pcd04 import pcd04_message


def _parse(payload: bytes) -> hl7.Message:
    """Strict hl7apy validation of the body against the v2.6 ORU_R01 structure (hl7apy has no ORU_R40; see
    pcd04.py), then an independent parse of the unmodified message with the hl7 package."""
    text = payload.decode("utf-8")
    assert "|ORU^R40^ORU_R40|" in text
    strict = parse_message(
        text.replace("|ORU^R40^ORU_R40|", "|ORU^R40^ORU_R01|"),
        validation_level=VALIDATION_LEVEL.STRICT,
        find_groups=True,
    )
    assert strict.validate() is True
    return hl7.parse(text)


def _facets(msg: hl7.Message) -> dict[str, hl7.Segment]:
    return {str(obx[3]).split("^")[1]: obx for obx in msg.segments("OBX")}


def test_raised_heart_rate_alert_has_all_acm_facets(make_alert, patient, strap, hospital) -> None:
    out = pcd04_message(make_alert("raised"), patient=patient, strap=strap, hospital=hospital)
    msg = _parse(out.payload)
    msh = msg.segment("MSH")
    assert str(msh[21]) == "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4^ISO"
    assert (str(msh[15]), str(msh[16])) == ("AL", "NE")
    assert str(msh[10]) == out.message_id
    assert str(msg.segment("OBR")[4]) == "196616^MDC_EVT_ALARM^MDC"

    facets = _facets(msg)
    alert_type = facets["MDC_EVT_HI"]
    assert str(alert_type[4]) == "1.0.0.1.1"
    assert msg.unescape(str(alert_type[5])) == "Heart rate 152 above ceiling 140 | stop & rest ^ now"
    assert [str(r) for r in alert_type[8]] == ["H", "PH", "SP"]
    source = facets["MDC_ECG_HEART_RATE"]
    assert (str(source[2]), str(source[4]), str(source[5])) == ("NM", "1.0.0.1.2", "152")
    assert (str(source[6]), str(source[7])) == ("264864^MDC_DIM_BEAT_PER_MIN^MDC", "<140")
    assert str(source[18]).endswith("^A09E1AFFFE123456^EUI-64")
    assert str(facets["MDC_ATTR_EVENT_PHASE"][5]) == "start"
    assert str(facets["MDC_ATTR_ALARM_STATE"][5]) == "active"
    assert str(facets["MDC_ATTR_ALARM_INACTIVATION_STATE"][5]) == "enabled"
    assert str(facets["MDC_ATTR_ALARM_PRIORITY"][5]) == "PH"
    assert str(facets["MDC_ATTR_ALERT_TYPE"][5]) == "SP"
    assert [str(obx[4]) for obx in msg.segments("OBX")] == [f"1.0.0.1.{n}" for n in range(1, 8)]
    assert str(facets["MDC_ATTR_EVENT_PHASE"][3]).startswith("68481^")


def test_lifecycle_keeps_the_alert_instance_and_changes_phase_state_and_control_id(
    make_alert, patient, strap, hospital
) -> None:
    steps = [make_alert("raised"), make_alert("updated", revision=1), make_alert("cleared", revision=2)]
    messages = [pcd04_message(s, patient=patient, strap=strap, hospital=hospital) for s in steps]
    parsed = [_parse(m.payload) for m in messages]
    assert len({str(m.segment("OBR")[3]) for m in parsed}) == 1
    assert len({m.message_id for m in messages}) == 3
    phases = [str(_facets(m)["MDC_ATTR_EVENT_PHASE"][5]) for m in parsed]
    states = [str(_facets(m)["MDC_ATTR_ALARM_STATE"][5]) for m in parsed]
    assert phases == ["start", "update", "end"]
    assert states == ["active", "active", "inactive"]


@pytest.mark.parametrize(("tier", "priority"), [("urgent", "PH"), ("nurse", "PM"), ("patient_cue", "PL")])
def test_tier_sets_the_acm_priority(make_alert, patient, strap, hospital, tier, priority) -> None:
    msg = _parse(pcd04_message(make_alert(tier=tier), patient=patient, strap=strap, hospital=hospital).payload)
    facets = _facets(msg)
    assert str(facets["MDC_ATTR_ALARM_PRIORITY"][5]) == priority
    assert priority in [str(r) for r in facets["MDC_EVT_HI"][8]]


def test_low_heart_rate_alert_is_mdc_evt_lo_with_a_lower_limit(make_alert, patient, strap, hospital) -> None:
    alert = make_alert(rule="hr_below_band", value=48.0, threshold=50.0, tier="nurse")
    facets = _facets(_parse(pcd04_message(alert, patient=patient, strap=strap, hospital=hospital).payload))
    assert [str(r) for r in facets["MDC_EVT_LO"][8]] == ["L", "PM", "SP"]
    assert str(facets["MDC_ECG_HEART_RATE"][7]) == ">50"


def test_technical_alert_comes_from_the_device_and_is_typed_st(make_alert, patient, strap, hospital) -> None:
    alert = make_alert(rule="signal_lost", value=None, threshold=None)
    msg = _parse(pcd04_message(alert, patient=patient, strap=strap, hospital=hospital).payload)
    facets = _facets(msg)
    assert [str(r) for r in facets["MDC_EVT_ALARM"][8]] == ["PH", "ST"]
    source = facets["MDC_ATTR_ALERT_SOURCE"]
    assert (str(source[2]), str(source[4]), str(source[5])) == ("CWE", "1.0.0.0.2", "65573^MDC_MOC_VMS_MDS_SIMP^MDC")
    assert str(facets["MDC_ATTR_ALERT_TYPE"][5]) == "ST"


def test_redelivery_is_byte_identical(make_alert, patient, strap, hospital) -> None:
    alert = make_alert()
    assert pcd04_message(alert, patient=patient, strap=strap, hospital=hospital) == pcd04_message(
        alert, patient=patient, strap=strap, hospital=hospital
    )
