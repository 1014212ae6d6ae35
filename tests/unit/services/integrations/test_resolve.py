"""Contexts from what the database knows: identifiers, fallbacks, derived EUI-64s."""

from __future__ import annotations

from services.integrations.resolve import (
    PROJECT_PATIENT_ID_SYSTEM,
    DeviceFacts,
    Identification,
    PatientFacts,
    fhir_patient_id,
    gateway_context,
    local_eui64,
    patient_context,
    strap_context,
)

PATIENT = PatientFacts(patient_id="sim-001", clinic_id="demo", sex="female", mrn="MRN-1")


def test_the_mrn_is_used_only_with_the_hospitals_system_and_authority() -> None:
    known = patient_context(PATIENT, Identification("urn:oid:1.2.3", "GENHOSP", "CARDIOREHAB"))
    assert (known.mrn, known.mrn_system, known.mrn_assigning_authority) == ("MRN-1", "urn:oid:1.2.3", "GENHOSP")
    assert known.fhir_id == fhir_patient_id("sim-001") and known.sex == "female"
    for ident in (None, Identification(None, "GENHOSP"), Identification("urn:oid:1.2.3", None, "CR")):
        fallback = patient_context(PATIENT, ident)
        assert (fallback.mrn, fallback.mrn_system) == ("sim-001", PROJECT_PATIENT_ID_SYSTEM)
    assert patient_context(PATIENT, Identification(namespace="CR")).mrn_assigning_authority == "CR"


def test_local_eui64_is_stable_and_locally_administered() -> None:
    value = local_eui64("strap-1")
    assert value == local_eui64("strap-1") != local_eui64("strap-2")
    first = int(value[:2], 16)
    assert len(value) == 16 and first & 0x02 and not first & 0x01


def test_strap_from_its_bluetooth_address_else_a_derived_id() -> None:
    devices = [
        DeviceFacts(device_id="gw", patient_id="p", kind="gateway", firmware="1.2"),
        DeviceFacts(device_id="new", patient_id="p", kind="polar_h10", address="A0:9E:1A:12:34:56"),
        DeviceFacts(device_id="old", patient_id="p", kind="hrs", retired=True),
    ]
    strap = strap_context("p", devices)
    assert (strap.device_id, strap.system_id, strap.manufacturer) == ("new", "A09E1AFFFE123456", "Polar Electro Oy")
    no_address = strap_context("p", [DeviceFacts(device_id="x", patient_id="p", kind="hrs", address="garbage")])
    assert no_address.system_id == local_eui64("x")
    placeholder = strap_context("p", devices[2:])
    assert placeholder.device_id == "p:no-strap" and placeholder.manufacturer == "unknown"
    gateway = gateway_context("p", devices)
    assert (gateway.device_id, gateway.software_version) == ("gw", "1.2")
    assert gateway_context("p", []).device_id == "p:no-gateway"
