"""The strap and the gateway as FHIR R4 Device resources shaped by the PHD IG (PhdDevice / PhgDevice, STU 1.x).

Deliberate differences from the profiles, each because the true value is not available:

- PhgDevice requires a "Continua version" entry in ``version``; the gateway is not Continua-certified, so it
  reports only its software version (MDC_ID_PROD_SPEC_SW) rather than claim a certification.
- No ``Device.parent``: the PHD IG states a PHD "has no parent Device"; the strap-to-gateway link is the
  ``observation-gatewayDevice`` extension on each Observation (see observations.py).
- The strap is a Bluetooth SIG Heart Rate Service device, not 11073-20601; per the PHD IG ("Non 11073 20601
  Devices") it is mapped as if it were one, with specialization MDC_DEV_SPEC_PROFILE_HF_CARDIO version 1.
"""

from __future__ import annotations

from fhir.resources.R4B.device import Device

from services.integrations import codes
from services.integrations.codes import Code
from services.integrations.context import DeviceContext, GatewayContext, dashed
from services.integrations.fhir.common import Json, concept, device_resource_id, identifier, validated


def _continua_identifier(kind: str, system: str, value: str) -> Json:
    return {
        "type": {"coding": [{"system": codes.CONTINUA_DEVICE_IDENTIFIERS, "code": kind}]},
        "system": system,
        "value": value,
    }


def _identifiers(device: DeviceContext | GatewayContext) -> list[Json]:
    result = [
        _continua_identifier("SYSID", codes.SYSID_SYSTEM, dashed(device.system_id)),
    ]
    if device.bt_address is not None:
        result.append(_continua_identifier("BTMAC", codes.BTMAC_SYSTEM, dashed(device.bt_address)))
    result.append(identifier(codes.PROJECT_DEVICE_ID_SYSTEM, device.device_id))
    return result


def _version(kind: Code, value: str | None) -> list[Json]:
    return [] if value is None else [{"type": concept(kind), "value": value}]


def _time_sync(mode: Code) -> Json:
    return {"type": concept(codes.MDC_TIME_SYNC_PROTOCOL), "valueCode": [concept(mode)]}


def phd_device(strap: DeviceContext) -> Device:
    """The chest strap as a PhdDevice (simple MDS, heart-rate/fitness specialization, no time sync).

    ``MDC_TIME_SYNC_NONE``: Heart Rate Measurement notifications carry no time stamp; the gateway stamps them.
    """
    data: Json = {
        "resourceType": "Device",
        "id": device_resource_id(strap),
        "meta": {"profile": [codes.PROFILE_PHD_DEVICE]},
        "identifier": _identifiers(strap),
        "manufacturer": strap.manufacturer,
        "modelNumber": strap.model_number,
        "type": concept(codes.MDC_MOC_VMS_MDS_SIMP, text="MDC_MOC_VMS_MDS_SIMP"),
        "specialization": [{"systemType": concept(codes.MDC_DEV_SPEC_PROFILE_HF_CARDIO), "version": "1"}],
        "version": [
            *_version(codes.MDC_ID_PROD_SPEC_FW, strap.firmware_version),
            *_version(codes.MDC_ID_PROD_SPEC_HW, strap.hardware_version),
            *_version(codes.MDC_ID_PROD_SPEC_SW, strap.software_version),
        ],
        "property": [_time_sync(codes.MDC_TIME_SYNC_NONE)],
    }
    if strap.serial_number is not None:
        data["serialNumber"] = strap.serial_number
    if not data["version"]:
        del data["version"]
    return validated(Device, data)


def phg_device(gateway: GatewayContext) -> Device:
    """The gateway (phone/hub app) as a PhgDevice (MDC_MOC_VMS_MDS_AHD)."""
    sync = codes.MDC_TIME_SYNC_NTPV4 if gateway.clock_sync == "ntpv4" else codes.MDC_TIME_SYNC_NONE
    data: Json = {
        "resourceType": "Device",
        "id": device_resource_id(gateway),
        "meta": {"profile": [codes.PROFILE_PHG_DEVICE]},
        "identifier": _identifiers(gateway),
        "manufacturer": gateway.manufacturer,
        "modelNumber": gateway.model_number,
        "type": concept(codes.MDC_MOC_VMS_MDS_AHD, text="MDC_MOC_VMS_MDS_AHD"),
        "version": _version(codes.MDC_ID_PROD_SPEC_SW, gateway.software_version),
        "property": [_time_sync(sync)],
    }
    return validated(Device, data)
