from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.api.settings import ApiSettings


def settings(environment: str, **kw: object) -> ApiSettings:
    return ApiSettings(CARDIO_ENVIRONMENT=environment, **kw)  # type: ignore[arg-type]


def test_production_refuses_weak_or_placeholder_secrets_and_wildcard_cors() -> None:
    for secret in ("changeme", "x" * 20):
        with pytest.raises(ValidationError, match="JWT_SECRET"):
            settings("production", jwt_secret=secret)
    with pytest.raises(ValidationError, match="CORS"):
        settings("production", jwt_secret="k" * 40, cors_origins=["*"])
    assert settings("production", jwt_secret="k" * 40).environment == "production"
    assert settings("development", jwt_secret="k" * 16).jwt_secret.get_secret_value() == "k" * 16


def test_there_is_no_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARDIO_API_JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="jwt_secret"):
        settings("development")
