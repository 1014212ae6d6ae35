"""Errors as RFC 9457 ``application/problem+json`` bodies that say what is wrong.

Every error the API returns goes through here: HTTP errors raised by routes, validation errors, unknown routes and
methods (see :mod:`services.api.fallback`), oversized bodies, an unavailable database or Kafka (503), and any
unexpected exception (500, without internals).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from aiokafka.errors import KafkaError
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class ProblemError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    instance: str | None = None
    errors: list[ProblemError] | None = None


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": Problem, "description": _TITLES.get(s, "Error")} for s in statuses}


# What every authenticated route can answer besides its success (documented in OpenAPI).
COMMON_RESPONSES = _responses(400, 401, 403, 404, 413, 422)
# FastAPI's words for a body it cannot decode, and what we say instead.
_UNPARSABLE_BODY = "There was an error parsing the body"


def responses(*extra: int) -> dict[int | str, dict[str, Any]]:
    """Common responses plus route-specific ones (e.g. 409, 503)."""
    return {**COMMON_RESPONSES, **_responses(*extra)}


def problem(
    status: int, detail: str, *, instance: str = "", headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if detail == _UNPARSABLE_BODY:
            detail = "the request body cannot be parsed: send UTF-8 JSON (or the form fields) this operation documents"
        return problem(exc.status_code, detail, instance=request.url.path, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem(422, summary or "invalid request", instance=request.url.path, errors=errors)

    @app.exception_handler(PoolTimeout)
    @app.exception_handler(psycopg.OperationalError)
    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable for %s: %s", request.url.path, exc)
        return problem(
            503, "the database is unavailable; retry shortly", instance=request.url.path, headers={"Retry-After": "5"}
        )

    @app.exception_handler(KafkaError)
    async def _kafka_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("kafka unavailable for %s: %s", request.url.path, exc)
        return problem(
            503,
            "the event stream is unavailable; nothing was changed, retry shortly",
            instance=request.url.path,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(500, "unexpected server error; it has been logged", instance=request.url.path)


def http_error(status: int, detail: str, headers: dict[str, str] | None = None) -> HTTPException:
    return HTTPException(status_code=status, detail=detail, headers=headers)
