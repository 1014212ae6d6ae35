"""PhdDevice / PhgDevice shapes (PHD IG STU 1.x) validated with fhir.resources."""

from __future__ import annotations

import json

from fhir.resources.R4B.device import Device

from services.integrations.fhir.common import device_resource_id, to_json_bytes
from services.integrations.fhir.devices import phd_device, phg_device

MDC = "urn:iso:std:iso:11073:10101"
CONTINUA_IDS = "http://hl7.org/fhir/uv/phd/CodeSystem/ContinuaDeviceIdentifiers"


def _wire(device: Device) -> dict:
    wire = to_json_bytes(device)
    Device.model_validate_json(wire)
    return json.loads(wire)


def _identifier(data: dict, kind: str) -> dict:
    (match,) = [i for i in data["identifier"] if i.get("type", {}).get("coding", [{}])[0].get("code") == kind]
    return match


def test_strap_is_a_phd_device_with_eui64_system_id_and_bluetooth_address(strap) -> None:
    data = _wire(phd_device(strap))
    assert data["meta"]["profile"] == ["http://hl7.org/fhir/uv/phd/StructureDefinition/PhdDevice"]
    sysid = _identifier(data, "SYSID")
    assert sysid["system"] == "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680"
    assert sysid["value"] == "A0-9E-1A-FF-FE-12-34-56"
    assert sysid["type"]["coding"][0]["system"] == CONTINUA_IDS
    btmac = _identifier(data, "BTMAC")
    assert btmac["system"] == "http://hl7.org/fhir/sid/eui-48/bluetooth"
    assert btmac["value"] == "A0-9E-1A-12-34-56"
    assert (data["manufacturer"], data["modelNumber"], data["serialNumber"]) == ("Polar Electro Oy", "H10", "C1234567")
    assert data["type"]["coding"][0] == {"system": MDC, "code": "65573", "display": "MDC_MOC_VMS_MDS_SIMP"}
    assert data["specialization"][0]["systemType"]["coding"][0]["code"] == "528425"
    assert data["version"] == [
        {"type": {"coding": [{"system": MDC, "code": "531976", "display": "MDC_ID_PROD_SPEC_FW"}]}, "value": "5.0.0"}
    ]
    assert data["property"][0]["valueCode"][0]["coding"][0]["code"] == "532224"  # no time sync on HRS
    assert "parent" not in data  # PHD IG: a PHD has no parent Device
    assert data["id"] == device_resource_id(strap)


def test_gateway_is_a_phg_device_with_its_software_version_and_clock_sync(gateway) -> None:
    data = _wire(phg_device(gateway))
    assert data["meta"]["profile"] == ["http://hl7.org/fhir/uv/phd/StructureDefinition/PhgDevice"]
    assert _identifier(data, "SYSID")["value"] == "02-00-5E-FF-FE-10-00-01"
    assert data["type"]["coding"][0]["code"] == "531981"
    assert data["version"][0]["type"]["coding"][0]["code"] == "531975"
    assert data["version"][0]["value"] == "0.1.0"
    assert data["property"][0]["valueCode"][0]["coding"][0]["code"] == "532226"  # NTPv4
    assert data["id"] == device_resource_id(gateway)
