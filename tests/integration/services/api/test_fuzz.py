"""Issue 6: Schemathesis fuzzes every operation of a real API process (real TimescaleDB and Kafka).

No response may be a 5xx; every 4xx must be an RFC 9457 ``application/problem+json`` body with ``status`` and
``detail``; and responses must match the OpenAPI document (status codes, content types, response schemas). Each
operation is called with a token of the role that may use it, so generated data reaches the handlers instead of
stopping at a 403. Bounded with a small ``max_examples`` per operation (see ``FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ingest.kafka_config import KafkaSettings
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.db.settings import DatabaseSettings
from tests.integration.services.api_server import ApiUnderTest, api_under_test
from tests.support.stack import StackEnv

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

FUZZ_EXAMPLES = int(os.environ.get("CARDIO_FUZZ_EXAMPLES", "50"))


def role_for(method: str, path: str) -> str:
    """The role whose token reaches this operation's handler."""
    if path.startswith(("/api/v1/users", "/api/v1/clinics")):
        return "clinic_admin"
    if method == "POST" and path.endswith(("/rpe", "/symptoms")):
        return "patient"
    if path.endswith("/readings"):
        return "device"
    return "charge_nurse"


@schemathesis.check
def problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx is application/problem+json with a matching status and a non-empty detail."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith("application/problem+json"):
        raise AssertionError(f"{response.status_code} with content type {content_type!r}, not a problem body")
    body = json.loads(response.content)
    if body.get("status") != response.status_code or not str(body.get("detail", "")).strip():
        raise AssertionError(f"problem body lacks status/detail: {body}")
    return None


@pytest.fixture(scope="module")
def api(stack: StackEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiUnderTest]:
    work: Path = tmp_path_factory.mktemp("fuzz")
    with api_under_test(stack, work) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(api: ApiUnderTest) -> Any:
    return schemathesis.openapi.from_url(f"{api.base_url}/api/v1/openapi.json")


def documented_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation, from the app's OpenAPI document (built without any I/O)."""
    app = create_app(
        ApiSettings(jwt_secret="k" * 40, CARDIO_ENVIRONMENT="test"),  # type: ignore[call-arg]
        DatabaseSettings(url="postgresql://unused:unused@127.0.0.1:1/unused"),  # type: ignore[arg-type]
        KafkaSettings(bootstrap="127.0.0.1:1"),
    )
    return sorted((method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops)


@pytest.mark.parametrize(("method", "path"), documented_operations())
def test_no_server_errors_and_every_client_error_is_a_problem(
    api: ApiUnderTest, api_schema: Any, method: str, path: str
) -> None:
    operation = api_schema[path][method.lower()]
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        try:
            strategies.append(operation.as_strategy(generation_mode=mode))
        except Exception:
            continue
    headers = api.headers(role_for(method, path))

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(case=st.one_of(strategies))
    def fuzz(case: Any) -> None:
        case.call_and_validate(
            base_url=api.base_url,
            headers=headers,
            checks=[
                not_a_server_error,
                problem_details,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ],
            timeout=30,
        )

    fuzz()
