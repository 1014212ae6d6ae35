"""GatewaySettings: the device token is a secret without default; limits must be consistent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ingest.gateway.settings import GatewaySettings

GOOD = "0123456789abcdef0123456789abcdef"


def make(**values: Any) -> GatewaySettings:
    return GatewaySettings(_env_file=None, **values)


def test_defaults_and_the_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARDIO_GATEWAY_PATIENT_ID", "patient-7")
    monkeypatch.setenv("CARDIO_GATEWAY_DEVICE_TOKEN", GOOD)
    monkeypatch.setenv("CARDIO_GATEWAY_BUFFER_PATH", "/tmp/x.sqlite3")
    monkeypatch.setenv("CARDIO_GATEWAY_ACC_ENABLED", "true")
    settings = make()
    assert settings.patient_id == "patient-7"
    assert settings.device_token.get_secret_value() == GOOD
    assert GOOD not in repr(settings)
    assert settings.buffer_path == Path("/tmp/x.sqlite3")
    assert (settings.ecg_enabled, settings.acc_enabled) == (True, True)
    assert settings.reconnect_backoff.max_s == 60.0


def test_the_device_token_has_no_default() -> None:
    with pytest.raises(ValidationError, match="device_token"):
        make(patient_id="p")


@pytest.mark.parametrize("token", ["changeme", "short-token-1234", "x" * 20])
def test_production_refuses_weak_tokens(token: str) -> None:
    with pytest.raises(ValidationError, match="DEVICE_TOKEN"):
        make(patient_id="p", device_token=token, environment="production")


def test_development_accepts_a_16_character_token_but_not_less() -> None:
    assert make(patient_id="p", device_token="d" * 16, environment="development").patient_id == "p"
    with pytest.raises(ValidationError, match="at least 16"):
        make(patient_id="p", device_token="d" * 15, environment="development")


@pytest.mark.parametrize(
    "values",
    [
        {"buffer_max_rows": 5000, "buffer_hard_max_rows": 1000},
        {"buffer_max_bytes": 10_000_000, "buffer_hard_max_bytes": 1_000_000},
        {"reconnect_backoff_initial_s": 10.0, "reconnect_backoff_max_s": 1.0},
        {"patient_id": "bad id with spaces"},
    ],
)
def test_inconsistent_settings_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        make(**{"patient_id": "p", "device_token": GOOD, **values})
