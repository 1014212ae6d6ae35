"""Context dataclasses normalise and check device identifiers."""

from __future__ import annotations

import pytest

from services.integrations.context import DeviceContext, PatientContext, dashed, eui64, eui64_from_eui48


def test_eui_normalisation() -> None:
    assert eui64("a0:9e:1a:ff:fe:12:34:56") == "A09E1AFFFE123456"
    assert dashed("A09E1AFFFE123456") == "A0-9E-1A-FF-FE-12-34-56"
    assert eui64_from_eui48("A0:9E:1A:12:34:56") == "A09E1AFFFE123456"
    with pytest.raises(ValueError, match="EUI-64"):
        eui64("A09E1A123456")
    with pytest.raises(ValueError, match="EUI-64"):
        eui64("G09E1AFFFE123456")


def test_device_context_normalises_and_requires_identity() -> None:
    device = DeviceContext(device_id="d", system_id="a0-9e-1a-ff-fe-12-34-56", manufacturer="m", model_number="n",
                           bt_address="a0:9e:1a:12:34:56")  # fmt: skip
    assert (device.system_id, device.bt_address) == ("A09E1AFFFE123456", "A09E1A123456")
    with pytest.raises(ValueError, match="manufacturer"):
        DeviceContext(device_id="d", system_id="A09E1AFFFE123456", manufacturer="", model_number="n")


def test_patient_context_requires_the_hospital_identifier() -> None:
    with pytest.raises(ValueError, match="mrn"):
        PatientContext(patient_id="p", mrn="", mrn_system="urn:x", mrn_assigning_authority="H")
