"""The dashboard's static files, and precise problems for API paths that match no route.

The dashboard is mounted at ``/``, so without this every unknown ``/api/...`` path would reach the static files
(plain 404, or 405 for any POST). Here an unknown API path is a 404 problem, and a known path with the wrong
method is a 405 problem with an ``Allow`` header.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from fastapi import HTTPException
from starlette.routing import BaseRoute, Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> list[str]:
    """The methods some (non-mount) route would accept for this path; empty when no route has this path."""
    candidates = [r for r in routes if not isinstance(r, Mount)]
    return [m for m in METHODS if any(r.matches({**scope, "method": m})[0] == Match.FULL for r in candidates)]


class DashboardFiles(StaticFiles):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and (path == "/api" or path.startswith("/api/")):
            allowed = allowed_methods(scope["app"].router.routes, scope)
            if allowed:
                raise HTTPException(
                    405,
                    f"{scope['method']} is not allowed on {path}; use {', '.join(allowed)}",
                    headers={"Allow": ", ".join(allowed)},
                )
            raise HTTPException(404, f"no API endpoint {path}; see /api/v1/openapi.json")
        await super().__call__(scope, receive, send)
