"""The FHIR R4 read API (``/fhir``) and the topic-based subscriptions of the R5 Backport IG.

Resources are built by the same pure builders as pushed messages (services/integrations/fhir), so a reference in a
notification resolves here. Ids are the builders' deterministic UUIDs. Authorisation is the service's own: the
integration role and clinicians read their clinic, patients only themselves (each resource type uses the action of
the matching REST resource: Patient ``patient:read``, Observation ``history:read``, DetectedIssue ``alert:read``,
Device ``device:read``, session-summary Bundle ``session:read``); subscriptions are created and turned off by clinic
administrators (``clinic:write``) and read by whoever may follow the clinic live (``live:clinic``). Searches are
compartment searches (``Patient/{id}/Observation``), so every search is scoped to one visible patient.

Errors are ``application/problem+json`` like everywhere in this API (not OperationOutcome).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fhir.resources.R4B.resource import Resource
from pydantic import Field, ValidationError

from services.api.auditing import audit_action
from services.api.deps import (
    AlertReader,
    ClinicWriter,
    ConnDep,
    CurrentPrincipal,
    DeviceReader,
    HistoryReader,
    PatientReader,
    SessionReader,
    require,
)
from services.api.problems import http_error, responses
from services.auth.permissions import Action
from services.auth.principal import Principal
from services.db import alerts as alerts_repo
from services.db import fhir_reads
from services.db import hospitals as hospitals_repo
from services.db import subscriptions as subscriptions_repo
from services.db.hospitals import PatientRecord
from services.integrations.dispatch.enqueue import EnqueueStats, enqueue_planned
from services.integrations.dispatch.records import (
    detected_issue,
    device_resource,
    features_of,
    subscription_resource,
    subscription_state,
    summary_bundle,
)
from services.integrations.dispatch.targets import device_facts, patient_facts, stored_config
from services.integrations.fhir.common import to_json_bytes
from services.integrations.fhir.patient import patient_resource
from services.integrations.fhir.search import SearchError, date_bounds, observation_kinds, observations, searchset
from services.integrations.fhir.subscription_request import SubscriptionRequest, SubscriptionRequestError, terms
from services.integrations.fhir.subscriptions import TOPICS, status_bundle, topic_basic
from services.integrations.planning import handshake
from services.integrations.resolve import (
    Identification,
    gateway_context,
    patient_context,
    strap_context,
)
from services.integrations.timestamps import NS_PER_S

router = APIRouter(prefix="/fhir", tags=["fhir"], responses=responses())

FHIR_JSON: Final = "application/fhir+json"
FHIR_ID: Final = r"^[A-Za-z0-9\-.]{1,64}$"
FhirId = Annotated[str, Path(pattern=FHIR_ID, description="FHIR logical id")]
Count = Annotated[int, Query(alias="_count", ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(alias="_offset", ge=0, le=100_000, description="entries to skip")]
LiveReader = Annotated[Principal, Depends(require(Action.LIVE_CLINIC))]


class FhirResponse(Response):
    """FHIR JSON. Routes declare ``response_class=Response`` and document their success as ``application/fhir+json``
    themselves (:func:`fhir_ok`), so that FastAPI keeps documenting their errors as problem+json."""

    media_type = FHIR_JSON


def fhir_ok(description: str, status_code: int = 200) -> dict[int | str, dict[str, Any]]:
    schema = {"type": "object", "properties": {"resourceType": {"type": "string"}}, "required": ["resourceType"]}
    return {status_code: {"description": description, "content": {FHIR_JSON: {"schema": schema}}}}


def fhir(resource: Resource, status_code: int = 200, headers: dict[str, str] | None = None) -> FhirResponse:
    return FhirResponse(to_json_bytes(resource), status_code=status_code, headers=headers)


def base_url(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}/fhir"


def as_uuid(fhir_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(fhir_id)
    except ValueError:
        return None


def not_found(kind: str, fhir_id: str) -> Exception:
    return http_error(404, f"no {kind} {fhir_id!r} visible to you")


async def visible_fhir_patient(conn: ConnDep, principal: Principal, fhir_id: str) -> PatientRecord:
    key = as_uuid(fhir_id)
    patient = None if key is None else await fhir_reads.patient_by_fhir_id(conn, key)
    if (
        patient is None
        or patient.archived_at is not None
        or not principal.may_read_patient(patient.id, patient.clinic_id)
    ):
        raise not_found("Patient", fhir_id)
    return patient


async def identification(conn: ConnDep, clinic_id: str) -> Identification:
    settings = await fhir_reads.identifying_hospital(conn, clinic_id)
    if settings is None:
        return Identification()
    namespace = str(settings.get("sending_application", {}).get("namespace", "CARDIOREHAB"))
    return Identification(settings.get("mrn_system"), settings.get("mrn_assigning_authority"), namespace)


def page_links(request: Request, returned: int, count: int, offset: int) -> str | None:
    if returned < count or offset + count > 100_000:
        return None
    return str(request.url.include_query_params(_offset=offset + count))


@router.get("/Patient/{patient_fhir_id}", response_class=Response, responses=fhir_ok("Patient"))
async def read_patient(patient_fhir_id: FhirId, conn: ConnDep, principal: PatientReader) -> FhirResponse:
    patient = await visible_fhir_patient(conn, principal, patient_fhir_id)
    ident = await identification(conn, patient.clinic_id)
    await audit_action(conn, principal, "fhir_read_patient", patient_id=patient.id)
    await conn.commit()
    return fhir(patient_resource(patient_facts(patient), mrn_system=ident.mrn_system))


SearchText = Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")]


@router.get(
    "/Patient/{patient_fhir_id}/Observation",
    response_class=Response,
    responses=fhir_ok("searchset Bundle of heart-rate, SDNN and RMSSD Observations, newest first"),
    summary="Observations of a patient (compartment search); _count counts seconds of monitoring",
)
async def search_observations(
    request: Request,
    patient_fhir_id: FhirId,
    conn: ConnDep,
    principal: HistoryReader,
    date: Annotated[list[SearchText] | None, Query(description="ge/gt/le/lt + instant with offset")] = None,
    code: Annotated[list[SearchText] | None, Query(description="system|code or code (8867-4, 80404-7, rmssd)")] = None,
    count: Count = 100,
    offset: Offset = 0,
) -> FhirResponse:
    patient = await visible_fhir_patient(conn, principal, patient_fhir_id)
    try:
        start, end = date_bounds(date or [])
    except SearchError as exc:
        raise http_error(422, str(exc)) from exc
    kinds = observation_kinds(code or [])
    rows = []
    if kinds:
        rows = await fhir_reads.features_page(conn, patient.id, start=start, end=end, limit=count, offset=offset)
    devices = [device_facts(d) for d in await fhir_reads.devices_of_patient(conn, patient.id)]
    ident = await identification(conn, patient.clinic_id)
    await audit_action(conn, principal, "fhir_search_observation", patient_id=patient.id, detail={"seconds": len(rows)})
    await conn.commit()
    resources = observations(
        [features_of(patient.id, row) for row in rows],
        kinds,
        patient=patient_context(patient_facts(patient), ident),
        strap=strap_context(patient.id, devices),
        gateway=gateway_context(patient.id, devices),
    )
    next_url = page_links(request, len(rows), count, offset)
    return fhir(
        searchset(
            resources, base_url=base_url(request), self_url=str(request.url), now_ns=time.time_ns(), next_url=next_url
        )
    )


@router.get(
    "/Patient/{patient_fhir_id}/DetectedIssue",
    response_class=Response,
    responses=fhir_ok("searchset Bundle of the patient's alerts, newest first"),
    summary="Alerts of a patient as DetectedIssue (compartment search)",
)
async def search_detected_issues(
    request: Request,
    patient_fhir_id: FhirId,
    conn: ConnDep,
    principal: AlertReader,
    count: Count = 100,
    offset: Offset = 0,
) -> FhirResponse:
    patient = await visible_fhir_patient(conn, principal, patient_fhir_id)
    rows = await alerts_repo.list_alerts(
        conn,
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        state=None,
        tier=None,
        acknowledged=None,
        since=None,
        until=None,
        limit=count,
        offset=offset,
    )
    ident = await identification(conn, patient.clinic_id)
    resources = [detected_issue(row, patient, ident) for row in rows]
    await audit_action(conn, principal, "fhir_search_detectedissue", patient_id=patient.id, detail={"count": len(rows)})
    await conn.commit()
    next_url = page_links(request, len(rows), count, offset)
    return fhir(
        searchset(
            resources, base_url=base_url(request), self_url=str(request.url), now_ns=time.time_ns(), next_url=next_url
        )
    )


@router.get("/DetectedIssue/{issue_id}", response_class=Response, responses=fhir_ok("DetectedIssue"))
async def read_detected_issue(issue_id: FhirId, conn: ConnDep, principal: AlertReader) -> FhirResponse:
    key = as_uuid(issue_id)
    alert_id = None if key is None else await fhir_reads.alert_id_by_fhir_id(conn, key)
    row = None if alert_id is None else await alerts_repo.alert_by_id(conn, alert_id)
    if row is None or row.clinic_id is None or not principal.may_read_patient(row.patient_id, row.clinic_id):
        raise not_found("DetectedIssue", issue_id)
    patient = await fhir_reads.patient_by_id(conn, row.patient_id)
    if patient is None:
        raise not_found("DetectedIssue", issue_id)
    resource = detected_issue(row, patient, await identification(conn, patient.clinic_id))
    await audit_action(
        conn, principal, "fhir_read_detectedissue", patient_id=row.patient_id, detail={"alert": alert_id}
    )
    await conn.commit()
    return fhir(resource)


@router.get(
    "/Patient/{patient_fhir_id}/Device",
    response_class=Response,
    responses=fhir_ok("searchset Bundle of the patient's straps (PhdDevice) and gateways (PhgDevice)"),
    summary="Devices of a patient (compartment search), retired ones included",
)
async def search_devices(
    request: Request, patient_fhir_id: FhirId, conn: ConnDep, principal: DeviceReader
) -> FhirResponse:
    patient = await visible_fhir_patient(conn, principal, patient_fhir_id)
    records = await fhir_reads.devices_of_patient(conn, patient.id)
    await audit_action(conn, principal, "fhir_search_device", patient_id=patient.id, detail={"count": len(records)})
    await conn.commit()
    resources = [device_resource(r) for r in records]
    return fhir(searchset(resources, base_url=base_url(request), self_url=str(request.url), now_ns=time.time_ns()))


@router.get("/Device/{device_fhir_id}", response_class=Response, responses=fhir_ok("Device"))
async def read_device(device_fhir_id: FhirId, conn: ConnDep, principal: DeviceReader) -> FhirResponse:
    key = as_uuid(device_fhir_id)
    record = None if key is None else await fhir_reads.device_by_fhir_id(conn, key)
    patient = None if record is None else await fhir_reads.patient_by_id(conn, record.patient_id)
    if record is None or patient is None or not principal.may_read_patient(patient.id, patient.clinic_id):
        raise not_found("Device", device_fhir_id)
    await audit_action(conn, principal, "fhir_read_device", patient_id=patient.id, detail={"device": record.id})
    await conn.commit()
    return fhir(device_resource(record))


@router.get(
    "/Bundle/{bundle_id}",
    response_class=Response,
    responses=fhir_ok("collection Bundle: a session summary"),
    summary="A session summary (the Bundle a session-summary notification points to)",
)
async def read_session_summary(bundle_id: FhirId, conn: ConnDep, principal: SessionReader) -> FhirResponse:
    key = as_uuid(bundle_id)
    summary = None if key is None else await fhir_reads.summary_by_bundle_id(conn, key)
    patient = None if summary is None else await fhir_reads.patient_by_id(conn, summary.patient_id)
    if summary is None or patient is None or not principal.may_read_patient(patient.id, patient.clinic_id):
        raise not_found("Bundle", bundle_id)
    devices = [device_facts(d) for d in await fhir_reads.devices_of_patient(conn, patient.id)]
    ident = await identification(conn, patient.clinic_id)
    await audit_action(
        conn, principal, "fhir_read_session_summary", patient_id=patient.id, detail={"session": summary.session_id}
    )
    await conn.commit()
    return fhir(summary_bundle(summary, patient, devices, ident))


@router.get(
    "/Basic",
    response_class=Response,
    responses=fhir_ok("searchset Bundle of the subscription topics (R4: Basic resources)"),
    summary="Subscription topics this server offers (topic discovery, Subscriptions Backport IG)",
)
async def list_topics(request: Request, principal: CurrentPrincipal) -> FhirResponse:
    resources = [topic_basic(t) for t in TOPICS.values()]
    return fhir(
        searchset(
            resources,
            base_url=base_url(request),
            self_url=str(request.url),
            now_ns=time.time_ns(),
            total=len(resources),
        )
    )


@router.get("/Basic/{basic_id}", response_class=Response, responses=fhir_ok("Basic (a subscription topic)"))
async def read_topic(basic_id: FhirId, principal: CurrentPrincipal) -> FhirResponse:
    for topic in TOPICS.values():
        if topic.basic_id == basic_id:
            return fhir(topic_basic(topic))
    raise not_found("Basic", basic_id)


@router.post(
    "/Subscription",
    status_code=status.HTTP_201_CREATED,
    response_class=Response,
    responses={
        **fhir_ok("the Subscription, status requested (active once the handshake is delivered)", 201),
        **responses(409),
    },
    summary="Subscribe a configured hospital's rest-hook to a topic (replaces its subscription to that topic)",
)
async def create_subscription(
    request: Request, body: SubscriptionRequest, conn: ConnDep, principal: ClinicWriter
) -> FhirResponse:
    hospitals = await hospitals_repo.hospitals_of_clinic(conn, principal.clinic_id, include_disabled=False)
    matching = []
    for record in hospitals:
        try:
            config = stored_config(record)
        except ValidationError:
            continue
        if config.fhir is not None and str(config.fhir.rest_hook_url) == body.channel.endpoint:
            matching.append(config)
    if not matching:
        raise http_error(
            409,
            f"channel.endpoint {body.channel.endpoint!r} is not the rest-hook URL of a hospital configured for "
            "your clinic; configure it first (POST /api/v1/clinics/{clinic_id}/hospitals)",
        )
    config = matching[0]
    assert config.fhir is not None
    try:
        asked = terms(
            body,
            default_content=config.fhir.content,
            default_heartbeat_s=config.fhir.heartbeat_period_s,
            default_timeout_s=config.fhir.timeout_s,
        )
    except SubscriptionRequestError as exc:
        raise http_error(422, str(exc)) from exc
    subscription_id = str(uuid.uuid4())
    replaced = await subscriptions_repo.create_subscription(
        conn,
        subscription_id=subscription_id,
        hospital_id=config.hospital_id,
        topic=asked.topic,
        endpoint=asked.endpoint,
        content=asked.content,
        heartbeat_period_s=asked.heartbeat_period_s,
        timeout_s=asked.timeout_s,
        filter_criteria=asked.filter_criteria,
        headers=asked.headers,
        reason=asked.reason,
        end_at=None if asked.end_ns is None else datetime.fromtimestamp(asked.end_ns / NS_PER_S, tz=UTC),
        created_by=uuid.UUID(principal.subject),
    )
    row = await subscriptions_repo.subscription_by_id(conn, subscription_id)
    assert row is not None
    opening = handshake(subscription_state(row), now_ns=time.time_ns(), hospital_id=config.hospital_id)
    await enqueue_planned(conn, [opening], EnqueueStats())
    await audit_action(
        conn,
        principal,
        "fhir_create_subscription",
        detail={
            "subscription": subscription_id,
            "hospital": config.hospital_id,
            "topic": asked.topic,
            "replaced": replaced,
        },
    )
    await conn.commit()
    location = f"{base_url(request)}/Subscription/{subscription_id}"
    return fhir(subscription_resource(row), status.HTTP_201_CREATED, {"Location": location})


async def visible_subscription(
    conn: ConnDep, principal: Principal, subscription_id: str
) -> subscriptions_repo.SubscriptionRow:
    row = await subscriptions_repo.subscription_by_id(conn, subscription_id)
    if row is None or not await subscriptions_repo.subscription_visible_to_clinic(conn, row.id, principal.clinic_id):
        raise not_found("Subscription", subscription_id)
    return row


@router.get("/Subscription/{subscription_id}", response_class=Response, responses=fhir_ok("Subscription"))
async def read_subscription(subscription_id: FhirId, conn: ConnDep, principal: LiveReader) -> FhirResponse:
    row = await visible_subscription(conn, principal, subscription_id)
    await audit_action(conn, principal, "fhir_read_subscription", detail={"subscription": subscription_id})
    await conn.commit()
    return fhir(subscription_resource(row))


@router.get(
    "/Subscription/{subscription_id}/$status",
    response_class=Response,
    responses=fhir_ok("searchset Bundle with the subscription-status Parameters"),
    summary="$status: the subscription's status and events-since-subscription-start",
)
async def subscription_status(subscription_id: FhirId, conn: ConnDep, principal: LiveReader) -> FhirResponse:
    row = await visible_subscription(conn, principal, subscription_id)
    await audit_action(conn, principal, "fhir_subscription_status", detail={"subscription": subscription_id})
    await conn.commit()
    return fhir(status_bundle([subscription_state(row)], now_ns=time.time_ns()))


@router.delete(
    "/Subscription/{subscription_id}",
    response_class=Response,
    responses=fhir_ok("the Subscription, status off"),
    summary="Turn a subscription off (notifications still queued for it are not sent)",
)
async def delete_subscription(subscription_id: FhirId, conn: ConnDep, principal: ClinicWriter) -> FhirResponse:
    await visible_subscription(conn, principal, subscription_id)
    await subscriptions_repo.turn_off(conn, subscription_id)
    row = await subscriptions_repo.subscription_by_id(conn, subscription_id)
    assert row is not None
    await audit_action(conn, principal, "fhir_delete_subscription", detail={"subscription": subscription_id})
    await conn.commit()
    return fhir(subscription_resource(row))
