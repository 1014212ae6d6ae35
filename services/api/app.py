"""Builds the FastAPI app from settings; the lifespan owns the pool, the migrations and the live hub."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from analytics.events import FeaturesV1
from ingest.kafka_config import KafkaSettings
from ingest.topics_admin import ensure_topics
from services.api import problems
from services.api.ratelimit import LoginLimiter
from services.api.routes import auth, health, live, patients
from services.api.settings import ApiSettings
from services.db.migrate import migrate
from services.db.pool import create_pool
from services.db.settings import DatabaseSettings
from services.live.hub import LiveHub

# Deliberate security headers (issue 6): no framing, no sniffing, no referrer leaks, scripts only from us.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Cache-Control": "no-store",
}


def dashboard_dir() -> Path:
    return Path(str(resources.files("dashboard").joinpath("static")))


def create_app(settings: ApiSettings, db: DatabaseSettings, kafka: KafkaSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(migrate, db.dsn())
        await ensure_topics(kafka, [FeaturesV1])
        pool = create_pool(db, name="cardiorehab-api")
        await pool.open(wait=True, timeout=30)
        hub = LiveHub(kafka, queue_size=settings.live_client_queue)
        await hub.start()
        app.state.pool, app.state.hub = pool, hub
        try:
            yield
        finally:
            await hub.stop()
            await pool.close()

    app = FastAPI(
        title="cardiorehab",
        version="1",
        summary="Live cardiac rehabilitation monitoring: features, alerts, sessions",
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
        if request.url.path.startswith(("/static/", "/vendor/")):
            response.headers["Cache-Control"] = "public, max-age=300"
        return response

    for router in (health.router, auth.router, patients.router, live.router):
        app.include_router(router)
    app.mount("/", StaticFiles(directory=dashboard_dir(), html=True), name="dashboard")
    return app
