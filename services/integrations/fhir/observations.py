"""FHIR R4 Observations for live monitoring: heart rate (vital-signs profile), HRV (SDNN, RMSSD), RR series.

Every Observation carries ``device`` (the strap, PhdDevice) and the ``observation-gatewayDevice`` extension (the
gateway, PhgDevice), as the PHD IG links them. Ids are deterministic from the source event's idempotency key.
"""

from __future__ import annotations

from fhir.resources.R4B.observation import Observation

from analytics.events import FeaturesV1
from ingest.events import SensorHrV1
from services.integrations import codes
from services.integrations.context import DeviceContext, GatewayContext, PatientContext
from services.integrations.errors import BuildError
from services.integrations.fhir.common import (
    Json,
    category,
    concept,
    device_reference,
    gateway_extension,
    identifier,
    patient_reference,
    quantity,
    validated,
)
from services.integrations.ids import resource_id
from services.integrations.timestamps import fhir_instant, fhir_instant_s


def _base(
    kind: str,
    key: str,
    *,
    patient: PatientContext,
    strap: DeviceContext,
    gateway: GatewayContext,
    effective: str,
    category_code: tuple[str, str],
) -> Json:
    return {
        "resourceType": "Observation",
        "id": resource_id(kind, key),
        "identifier": [identifier(codes.PROJECT_MESSAGE_ID_SYSTEM, f"{kind}:{key}")],
        "status": "final",
        "category": category(*category_code),
        "subject": patient_reference(patient),
        "effectiveDateTime": effective,
        "device": device_reference(strap),
        "extension": [gateway_extension(gateway)],
    }


def _interpretation(hr: float, features: FeaturesV1) -> str | None:
    """v3-ObservationInterpretation: HH above the prescribed ceiling, H/L outside the band, N inside."""
    if features.ceiling_bpm is not None and hr > features.ceiling_bpm:
        return "HH"
    if features.band_high_bpm is not None and hr > features.band_high_bpm:
        return "H"
    if features.band_low_bpm is not None and hr < features.band_low_bpm:
        return "L"
    if features.band_low_bpm is not None and features.band_high_bpm is not None:
        return "N"
    return None


def heart_rate_observation(
    features: FeaturesV1, *, patient: PatientContext, strap: DeviceContext, gateway: GatewayContext
) -> Observation:
    """The second's heart rate as an R4 vital-signs heart-rate Observation (LOINC 8867-4 + MDC 147842, /min).

    The prescribed training band becomes ``referenceRange`` with meaning "treatment" (the range the clinician
    wants, not a population normal); the interpretation flags the value against it.
    """
    if features.hr_bpm is None:
        raise BuildError(f"features {features.idempotency_key()} carry no heart rate (signal {features.signal})")
    data = _base(
        "observation-hr",
        features.idempotency_key(),
        patient=patient,
        strap=strap,
        gateway=gateway,
        effective=fhir_instant_s(features.t_s),
        category_code=("vital-signs", "Vital Signs"),
    )
    data["meta"] = {"profile": [codes.PROFILE_HEART_RATE]}
    data["code"] = concept(codes.LOINC_HEART_RATE, codes.MDC_ECG_HEART_RATE, text="Heart rate")
    data["valueQuantity"] = quantity(features.hr_bpm, codes.UCUM_PER_MIN)
    if features.band_low_bpm is not None and features.band_high_bpm is not None:
        data["referenceRange"] = [
            {
                "low": quantity(features.band_low_bpm, codes.UCUM_PER_MIN),
                "high": quantity(features.band_high_bpm, codes.UCUM_PER_MIN),
                "type": {
                    "coding": [
                        {"system": codes.REFERENCE_RANGE_MEANING, "code": "treatment", "display": "Treatment Range"}
                    ]
                },
                "text": "prescribed training band",
            }
        ]
    flag = _interpretation(features.hr_bpm, features)
    if flag is not None:
        data["interpretation"] = [{"coding": [{"system": codes.OBSERVATION_INTERPRETATION, "code": flag}]}]
    return validated(Observation, data)


def hrv_observations(
    features: FeaturesV1, *, patient: PatientContext, strap: DeviceContext, gateway: GatewayContext
) -> list[Observation]:
    """SDNN (LOINC 80404-7) and RMSSD (project code; no LOINC exists) in ms, for whichever the features carry.

    Category ``procedure``: HRV is derived from the RR sequence, like ECG measurements, and is not one of the
    R4 vital-signs profiles.
    """
    values = [
        ("observation-sdnn", features.sdnn_ms, concept(codes.LOINC_SDNN, text="SDNN")),
        ("observation-rmssd", features.rmssd_ms, concept(codes.PROJECT_RMSSD, text="RMSSD")),
    ]
    result: list[Observation] = []
    for kind, value_ms, code in values:
        if value_ms is None:
            continue
        data = _base(
            kind,
            features.idempotency_key(),
            patient=patient,
            strap=strap,
            gateway=gateway,
            effective=fhir_instant_s(features.t_s),
            category_code=("procedure", "Procedure"),
        )
        data["code"] = code
        data["valueQuantity"] = quantity(value_ms, codes.UCUM_MS)
        result.append(validated(Observation, data))
    return result


def rr_series_observation(
    reading: SensorHrV1, *, patient: PatientContext, strap: DeviceContext, gateway: GatewayContext
) -> Observation:
    """The RR intervals of one Heart Rate Measurement notification, as MDC 147240 components in ms, in order.

    Components rather than SampledData: SampledData needs a fixed sampling ``period``, and RR intervals are the
    irregular beat-to-beat spacing itself, so no honest period exists.
    """
    if not reading.rr_ms:
        raise BuildError(f"reading {reading.idempotency_key()} carries no RR intervals")
    data = _base(
        "observation-rr",
        reading.idempotency_key(),
        patient=patient,
        strap=strap,
        gateway=gateway,
        effective=fhir_instant(reading.gateway_time_ns),
        category_code=("procedure", "Procedure"),
    )
    data["code"] = concept(codes.MDC_ECG_TIME_PD_RR_GL, codes.PROJECT_RR_SERIES, text="RR intervals")
    data["component"] = [
        {"code": concept(codes.MDC_ECG_TIME_PD_RR_GL), "valueQuantity": quantity(round(rr, 3), codes.UCUM_MS)}
        for rr in reading.rr_ms
    ]
    return validated(Observation, data)
