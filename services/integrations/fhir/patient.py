"""The minimal FHIR R4 Patient our ``/fhir`` server serves: identifiers, gender, birth year, display name, active.

Its id is :func:`services.integrations.resolve.fhir_patient_id`, which every pushed resource references, so a
hospital that receives ``Patient/<id>`` in a notification can read it here (with its integration account).
Identifiers: our patient id (project system) always; the MRN (type ``MR``, HL7 table 0203) under the hospital's
MRN system when both are known. Only the birth year is stored, and FHIR ``date`` accepts a bare year.
"""

from __future__ import annotations

from typing import Final

from fhir.resources.R4B.patient import Patient

from services.integrations.fhir.common import Json, identifier, validated
from services.integrations.resolve import PROJECT_PATIENT_ID_SYSTEM, PatientFacts, fhir_patient_id

IDENTIFIER_TYPE: Final = "http://terminology.hl7.org/CodeSystem/v2-0203"


def patient_resource(patient: PatientFacts, *, mrn_system: str | None = None) -> Patient:
    identifiers: list[Json] = [identifier(PROJECT_PATIENT_ID_SYSTEM, patient.patient_id)]
    if patient.mrn and mrn_system:
        identifiers.append(
            {
                "type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "MR", "display": "Medical record number"}]},
                **identifier(mrn_system, patient.mrn),
            }
        )
    data: Json = {
        "resourceType": "Patient",
        "id": fhir_patient_id(patient.patient_id),
        "identifier": identifiers,
        "active": not patient.archived,
    }
    if patient.display_name:
        data["name"] = [{"use": "usual", "text": patient.display_name}]
    if patient.sex is not None:
        data["gender"] = patient.sex
    if patient.birth_year is not None:
        data["birthDate"] = f"{patient.birth_year:04d}"
    return validated(Patient, data)
