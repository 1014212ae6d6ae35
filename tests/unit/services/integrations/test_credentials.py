"""Credential references resolve from the environment or a file, and errors never show a secret."""

from __future__ import annotations

import pytest

from services.integrations.credentials import resolve_credential
from services.integrations.errors import ConfigurationError


def _no_file(path: str) -> str:
    raise FileNotFoundError(2, "No such file or directory", path)


def test_env_reference() -> None:
    secret = resolve_credential("env:HOOK_TOKEN", environ={"HOOK_TOKEN": "t0ken"}, read_file=_no_file)
    assert secret.get_secret_value() == "t0ken"
    assert "t0ken" not in repr(secret)


def test_file_reference_strips_one_trailing_newline() -> None:
    files = {"/run/secrets/hook": "t0ken\n"}
    secret = resolve_credential("file:/run/secrets/hook", environ={}, read_file=files.__getitem__)
    assert secret.get_secret_value() == "t0ken"


@pytest.mark.parametrize(
    ("ref", "environ", "reason"),
    [
        ("env:HOOK_TOKEN", {}, "HOOK_TOKEN named by 'env:HOOK_TOKEN' is not set"),
        ("env:HOOK_TOKEN", {"HOOK_TOKEN": ""}, "not set or empty"),
        ("file:/run/secrets/missing", {}, "cannot read 'file:/run/secrets/missing'"),
        ("env:lower_case", {"lower_case": "x"}, "is not a credential reference"),
        ("Bearer abc", {}, "is not a credential reference"),
        ("https://vault.example/secret", {}, "is not a credential reference"),
    ],
)
def test_unresolvable_references_name_the_reference(ref: str, environ: dict[str, str], reason: str) -> None:
    with pytest.raises(ConfigurationError, match=reason) as caught:
        resolve_credential(ref, environ=environ, read_file=_no_file)
    assert not caught.value.retriable


def test_an_empty_secret_file_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        resolve_credential("file:/run/secrets/hook", environ={}, read_file=lambda _: "\n")
