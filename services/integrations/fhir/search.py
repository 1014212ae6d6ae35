"""Searching on the read API (pure): ``searchset`` Bundles (entries with ``fullUrl`` and ``search.mode``,
``self``/``next`` links; ``total`` omitted unless known, which R4 allows and which spares counting a time series),
and the FHIR search parameters the Observation search takes (``date``, ``code``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final, Literal

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.resource import Resource

from analytics.events import FeaturesV1
from services.integrations import codes
from services.integrations.context import DeviceContext, GatewayContext, PatientContext
from services.integrations.fhir.common import Json, validated
from services.integrations.fhir.observations import heart_rate_observation, hrv_observations
from services.integrations.ids import resource_id
from services.integrations.timestamps import fhir_instant


def searchset(
    resources: Sequence[Resource],
    *,
    base_url: str,
    self_url: str,
    now_ns: int,
    next_url: str | None = None,
    total: int | None = None,
) -> Bundle:
    """A searchset of ``resources`` (all matches, in order); ``base_url`` makes each entry's ``fullUrl``."""
    base = base_url.rstrip("/")
    links: list[Json] = [{"relation": "self", "url": self_url}]
    if next_url is not None:
        links.append({"relation": "next", "url": next_url})
    data: Json = {
        "resourceType": "Bundle",
        "id": resource_id("searchset", f"{self_url}:{now_ns}"),
        "type": "searchset",
        "timestamp": fhir_instant(now_ns),
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{resource.get_resource_type()}/{resource.id}",
                "resource": resource.model_dump(mode="json"),
                "search": {"mode": "match"},
            }
            for resource in resources
        ],
    }
    if total is not None:
        data["total"] = total
    if not data["entry"]:
        del data["entry"]
    return validated(Bundle, data)


class SearchError(ValueError):
    """A search parameter that cannot be understood; the message says what to send instead."""


def date_bounds(values: Sequence[str]) -> tuple[datetime | None, datetime | None]:
    """FHIR date search values (``ge``/``gt``/``le``/``lt`` + an instant with offset) as a half-open [start, end).

    Several values narrow the range (they are ANDed, as repeated FHIR search parameters are).
    """
    start: datetime | None = None
    end: datetime | None = None
    tick = timedelta(microseconds=1)
    for value in values:
        prefix, instant = value[:2], value[2:]
        try:
            when: datetime | None = datetime.fromisoformat(instant.replace("Z", "+00:00"))
        except ValueError:
            when = None
        if prefix not in ("ge", "gt", "le", "lt") or when is None or when.tzinfo is None:
            raise SearchError(
                f"date {value!r}: use ge, gt, le or lt and an instant with offset, e.g. ge2026-03-01T10:00:00Z"
            )
        if prefix in ("ge", "gt"):
            bound = when if prefix == "ge" else when + tick
            start = bound if start is None else max(start, bound)
        else:
            bound = when + tick if prefix == "le" else when
            end = bound if end is None else min(end, bound)
    return start, end


ObservationKind = Literal["hr", "sdnn", "rmssd"]
ALL_KINDS: Final[frozenset[ObservationKind]] = frozenset({"hr", "sdnn", "rmssd"})
_CODE_KINDS: Final[dict[str, ObservationKind]] = {
    codes.LOINC_HEART_RATE.code: "hr",
    codes.MDC_ECG_HEART_RATE.code: "hr",
    codes.LOINC_SDNN.code: "sdnn",
    codes.PROJECT_RMSSD.code: "rmssd",
}


def observation_kinds(tokens: Sequence[str]) -> frozenset[ObservationKind]:
    """Observation kinds for ``code`` tokens (``system|code`` or ``code``, comma-separated); none given: all.

    Unknown codes match nothing (FHIR search semantics), they are not an error.
    """
    if not tokens:
        return ALL_KINDS
    found = {_CODE_KINDS.get(t.rpartition("|")[2]) for value in tokens for t in value.split(",")}
    return frozenset(k for k in found if k is not None)


def observations(
    seconds: Sequence[FeaturesV1],
    kinds: frozenset[ObservationKind],
    *,
    patient: PatientContext,
    strap: DeviceContext,
    gateway: GatewayContext,
) -> list[Observation]:
    """The Observations of these features seconds, in order, of the requested kinds."""
    result: list[Observation] = []
    for features in seconds:
        if "hr" in kinds and features.hr_bpm is not None:
            result.append(heart_rate_observation(features, patient=patient, strap=strap, gateway=gateway))
        for observation in hrv_observations(features, patient=patient, strap=strap, gateway=gateway):
            coding = observation.code.coding[0] if observation.code.coding else None
            kind: ObservationKind = "sdnn" if coding is not None and coding.code == codes.LOINC_SDNN.code else "rmssd"
            if kind in kinds:
                result.append(observation)
    return result
