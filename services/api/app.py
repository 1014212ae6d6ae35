"""Builds the FastAPI app from settings; the lifespan owns the pool, the migrations, the producer and the live hub."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from analytics.events import AlertV1, FeaturesV1, PrescriptionV1, SessionV1
from ingest.events import SensorHrV1
from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.topics_admin import ensure_topics
from services.api import problems
from services.api.fallback import DashboardFiles
from services.api.limits import BodyLimitMiddleware
from services.api.ratelimit import LoginLimiter
from services.api.routes import (
    alerts,
    auth,
    clinics,
    devices,
    entries,
    fhir,
    health,
    history,
    integrations,
    live,
    patients,
    prescriptions,
    readings,
    reports,
    sessions,
    users,
)
from services.api.settings import ApiSettings
from services.db.migrate import migrate
from services.db.pool import create_pool
from services.db.retention import RetentionScheduler
from services.db.settings import DatabaseSettings, RetentionSettings
from services.live.events import AlertStateV1
from services.live.hub import LiveHub

# Deliberate security headers (issue 6): no framing, no sniffing, no referrer leaks, scripts only from us, HTTPS only
# once a TLS proxy serves us (browsers ignore HSTS over plain HTTP), nothing cached (patient data).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Cache-Control": "no-store",
}
# The API docs page loads Swagger UI from a CDN; only that page gets a CSP that allows it.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; "
    "style-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; frame-ancestors 'none'"
)
TOPICS = (FeaturesV1, AlertV1, SessionV1, AlertStateV1, PrescriptionV1, SensorHrV1)
ROUTERS = (
    health.router,
    auth.router,
    clinics.router,
    users.router,
    patients.router,
    history.router,
    devices.router,
    readings.router,
    prescriptions.router,
    sessions.router,
    reports.router,
    alerts.router,
    entries.router,
    live.router,
    integrations.router,
    fhir.router,
)


def dashboard_dir() -> Path:
    return Path(str(resources.files("dashboard").joinpath("static")))


def problem_media_types(schema: dict[str, Any]) -> dict[str, Any]:
    """Document error responses as ``application/problem+json`` (FastAPI lists them as application/json)."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[:1] in ("4", "5") and "application/json" in content:
                    response["content"] = {problems.PROBLEM_JSON: content["application/json"]}
    return schema


def create_app(
    settings: ApiSettings,
    db: DatabaseSettings,
    kafka: KafkaSettings,
    retention: RetentionSettings | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(migrate, db.dsn())
        await ensure_topics(kafka, TOPICS)
        pool = create_pool(db, name="cardiorehab-api")
        await pool.open(wait=True, timeout=30)
        producer = EventProducer(kafka)
        await producer.start()
        hub = LiveHub(
            kafka, queue_size=settings.live_client_queue, replay_per_partition=settings.live_replay_per_partition
        )
        await hub.start()
        scheduler = None
        if retention is not None and retention.enabled and settings.retention_in_api:
            scheduler = RetentionScheduler(db.dsn(), retention)
            scheduler.start()
        app.state.pool, app.state.hub, app.state.producer = pool, hub, producer
        try:
            yield
        finally:
            if scheduler is not None:
                await scheduler.stop()
            await hub.stop()
            await producer.stop()
            await pool.close()

    app = FastAPI(
        title="cardiorehab",
        version="1",
        summary="Live cardiac rehabilitation monitoring: patients, prescriptions, history, sessions, alerts",
        description="Errors are RFC 9457 `application/problem+json`. Lists take `limit` (at most 500) and `offset` "
        'and send a `Link: <...>; rel="next"` header when there may be more. See docs/api.md.',
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.login_limiter = LoginLimiter(settings.login_attempts_per_minute)
    problems.install(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
        )

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path == "/api/docs":
            response.headers["Content-Security-Policy"] = DOCS_CSP
        if request.url.path.startswith(("/static/", "/vendor/")):
            response.headers["Cache-Control"] = "public, max-age=300"
        return response

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)

    for router in ROUTERS:
        app.include_router(router)
    app.mount("/", DashboardFiles(directory=dashboard_dir(), html=True), name="dashboard")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_media_types(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
