"""PCD-01 ORU^R01: IHE fields, strict hl7apy validation, and an independent parse with the ``hl7`` package."""

from __future__ import annotations

import hl7
import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from services.integrations.errors import BuildError
from services.integrations.hl7v2.pcd01 import pcd01_message


def _fields(struct: object) -> dict:
    return {name: getattr(struct, name) for name in struct.__struct_fields__}  # type: ignore[attr-defined]


def _parse(payload: bytes) -> hl7.Message:
    text = payload.decode("utf-8")
    strict = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    assert strict.name == "ORU_R01"
    assert strict.validate() is True
    return hl7.parse(text)


def test_pcd01_header_carries_the_ihe_profile_and_acknowledgment_types(features, patient, strap, hospital) -> None:
    out = pcd01_message(features, patient=patient, strap=strap, hospital=hospital)
    msg = _parse(out.payload)
    msh = msg.segment("MSH")
    assert str(msh[3]) == "CARDIOREHAB^0123456789ABCDEF^EUI-64"
    assert (str(msh[5]), str(msh[6])) == ("ENGINE", "GENHOSP")
    assert str(msh[7]) == "20240501100000+0000"
    assert str(msh[9]) == "ORU^R01^ORU_R01"
    assert str(msh[10]) == out.message_id
    assert len(out.message_id) == 20
    assert (str(msh[11]), str(msh[12])) == ("P", "2.6")
    assert (str(msh[15]), str(msh[16])) == ("AL", "NE")
    assert str(msh[21]) == "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
    assert out.source_key == features.idempotency_key()


def test_pcd01_patient_visit_and_order(features, patient, strap, hospital) -> None:
    msg = _parse(pcd01_message(features, patient=patient, strap=strap, hospital=hospital).payload)
    pid = msg.segment("PID")
    assert str(pid[3]) == "MRN-4711^^^GENHOSP^MR"
    assert str(pid[5]) == "Muster^Erika^^^^^L"
    assert (str(pid[7]), str(pid[8])) == ("19580314", "F")
    pv1 = msg.segment("PV1")
    assert (str(pv1[2]), str(pv1[3])) == ("O", "HOMEREHAB")
    obr = msg.segment("OBR")
    assert str(obr[2]).startswith("sess-42^CARDIOREHAB")
    assert str(obr[3]).split("^")[0] == str(msg.segment("MSH")[10])
    assert str(obr[4]) == "182777000^monitoring of patient^SNOMED-CT"
    assert str(obr[7]) == "20240501100000+0000"


def test_pcd01_heart_rate_obx_has_mdc_code_containment_units_band_flag_and_eui64(
    features, patient, strap, hospital
) -> None:
    msg = _parse(pcd01_message(features, patient=patient, strap=strap, hospital=hospital).payload)
    device, hr = msg.segments("OBX")
    assert str(device[3]) == "528425^MDC_DEV_SPEC_PROFILE_HF_CARDIO^MDC"
    assert (str(device[4]), str(device[11])) == ("1.0.0.0", "X")
    assert str(device[18]) == "strap-h10-01^^A09E1AFFFE123456^EUI-64"
    assert str(hr[2]) == "NM"
    assert str(hr[3]) == "147842^MDC_ECG_HEART_RATE^MDC"
    assert str(hr[4]) == "1.0.0.1"
    assert str(hr[5]) == "131.5"
    assert str(hr[6]) == "264864^MDC_DIM_BEAT_PER_MIN^MDC"
    assert str(hr[7]) == "100-130"
    assert str(hr[8]) == "H"
    assert str(hr[11]) == "R"
    assert str(hr[14]) == "20240501100000+0000"
    assert str(hr[18]) == "strap-h10-01^^A09E1AFFFE123456^EUI-64"


@pytest.mark.parametrize(("hr", "flag"), [(95.0, "L"), (120.0, "N"), (135.0, "H"), (150.0, "HH")])
def test_abnormal_flag_follows_band_and_ceiling(features, patient, strap, hospital, hr, flag) -> None:
    one = features.__class__(**{**_fields(features), "hr_bpm": hr})
    msg = _parse(pcd01_message(one, patient=patient, strap=strap, hospital=hospital).payload)
    assert str(msg.segments("OBX")[1][8]) == flag


def test_redelivery_is_byte_identical_and_the_next_second_gets_a_new_control_id(
    features, patient, strap, hospital
) -> None:
    first = pcd01_message(features, patient=patient, strap=strap, hospital=hospital)
    again = pcd01_message(features, patient=patient, strap=strap, hospital=hospital)
    later = pcd01_message(
        features.__class__(**{**_fields(features), "t_s": features.t_s + 60}),
        patient=patient,
        strap=strap,
        hospital=hospital,
    )
    assert first == again
    assert later.message_id != first.message_id


def test_unknown_name_is_sent_as_unspecified_and_delimiters_in_ids_are_escaped(
    features, anonymous_patient, strap, hospital
) -> None:
    tricky = anonymous_patient.__class__(
        patient_id="p", mrn="A|B^C&D~E\\F", mrn_system="urn:x", mrn_assigning_authority="GEN^HOSP"
    )
    out = pcd01_message(features, patient=tricky, strap=strap, hospital=hospital)
    msg = _parse(out.payload)
    pid = msg.segment("PID")
    assert str(pid[5]) == "^^^^^^U"
    assert len(pid[3][0]) == 5  # CX.1 .. CX.5: no component leaked from the MRN
    assert str(pid[3][0][0]) == r"A\F\B\S\C\T\D\R\E\E\F"
    assert hl7.parse(out.payload.decode()).unescape(str(pid[3][0][0])) == "A|B^C&D~E\\F"


def test_features_without_heart_rate_are_refused(features, patient, strap, hospital) -> None:
    lost = features.__class__(**{**_fields(features), "hr_bpm": None})
    with pytest.raises(BuildError):
        pcd01_message(lost, patient=patient, strap=strap, hospital=hospital)
