"""Small JSON-shape helpers shared by the FHIR builders, and the one place a built resource is validated.

Builders assemble FHIR JSON (plain dicts, exactly what goes on the wire) and finish with :func:`validated`,
which parses it into the ``fhir.resources.R4B`` model. R4B is used because no fhir.resources release that runs on
pydantic 2 has R4 4.0.1 models (8.x: R5 default, R4B, STU3; see README.md). R4B (4.3.0) is wire-compatible with
R4 for what we emit: its changes from R4 are in other resources (medication definition, evidence) and in
R4B-only resources (SubscriptionStatus, SubscriptionTopic), which these builders deliberately do not use; the
Observation, Device, DetectedIssue, Communication, Subscription, Parameters, Bundle and Basic elements we emit are
R4 elements [verify: not diffed element by element against the R4 4.0.1 StructureDefinitions].
"""

from __future__ import annotations

from typing import Any, TypeVar

from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from services.integrations import codes
from services.integrations.codes import Code
from services.integrations.context import (
    CONTENT_TYPE_FHIR_JSON,
    DeviceContext,
    GatewayContext,
    OutboundMessage,
    PatientContext,
)
from services.integrations.errors import ResourceValidationError
from services.integrations.ids import resource_id

Json = dict[str, Any]
R = TypeVar("R", bound=Resource)


def validated(model: type[R], data: Json) -> R:
    """Parse ``data`` into ``model``; a rejection is a mapping bug and raises :class:`ResourceValidationError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ResourceValidationError(model.__name__, str(exc)) from exc


def to_json_bytes(resource: Resource) -> bytes:
    """Compact FHIR JSON (aliases, no nulls), deterministic for a given resource."""
    text: str = resource.model_dump_json(exclude_comments=True)
    return text.encode("utf-8")


def outbound(resource: Resource, source_key: str) -> OutboundMessage:
    """A built resource (or Bundle) as the dispatcher's wire unit: its id is the deterministic message id."""
    if resource.id is None:
        raise ValueError("an outbound resource needs an id (the builders always set one)")
    return OutboundMessage(
        message_id=resource.id,
        payload=to_json_bytes(resource),
        content_type=CONTENT_TYPE_FHIR_JSON,
        source_key=source_key,
    )


def coding(code: Code) -> Json:
    return {"system": code.system, "code": code.code, "display": code.display}


def concept(*codes_: Code, text: str | None = None) -> Json:
    result: Json = {"coding": [coding(c) for c in codes_]}
    if text is not None:
        result["text"] = text
    return result


def quantity(value: float, unit: Code) -> Json:
    """A UCUM quantity; ``unit.display`` is the human unit, ``unit.code`` the UCUM code."""
    return {"value": value, "unit": unit.display, "system": unit.system, "code": unit.code}


def category(code: str, display: str) -> list[Json]:
    return [{"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": code, "display": display}]}]


def patient_reference(patient: PatientContext) -> Json:
    """A reference by id when the hospital's Patient id is known, always with the MRN as logical identifier."""
    ref: Json = {"identifier": {"system": patient.mrn_system, "value": patient.mrn}}
    if patient.fhir_id:
        ref["reference"] = f"Patient/{patient.fhir_id}"
    return ref


def device_resource_id(device: DeviceContext | GatewayContext) -> str:
    return resource_id("device", device.device_id)


def device_reference(device: DeviceContext | GatewayContext) -> Json:
    return {"reference": f"Device/{device_resource_id(device)}"}


def gateway_extension(gateway: GatewayContext) -> Json:
    """PHD IG link from an Observation to the gateway that forwarded it (a PHD has no parent Device)."""
    return {"url": codes.EXT_OBSERVATION_GATEWAY_DEVICE, "valueReference": device_reference(gateway)}


def identifier(system: str, value: str) -> Json:
    return {"system": system, "value": value}
