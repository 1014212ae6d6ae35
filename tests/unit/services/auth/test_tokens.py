from __future__ import annotations

import time

import pytest

from services.auth.passwords import hash_password, verify_password
from services.auth.principal import Principal
from services.auth.tokens import (
    TokenError,
    hash_opaque_token,
    issue_access_token,
    new_refresh_token,
    verify_access_token,
)

SECRET = "x" * 40
NURSE = Principal(subject="u1", role="nurse", clinic_id="c1", display_name="N")


def test_access_token_round_trip() -> None:
    issued = issue_access_token(NURSE, secret=SECRET, ttl_s=900, now_s=int(time.time()))
    assert verify_access_token(issued.token, secret=SECRET) == NURSE


def test_expired_wrong_key_and_garbage_are_refused() -> None:
    old = issue_access_token(NURSE, secret=SECRET, ttl_s=60, now_s=1_000_000_000).token
    with pytest.raises(TokenError, match="expired"):
        verify_access_token(old, secret=SECRET)
    fresh = issue_access_token(NURSE, secret=SECRET, ttl_s=60, now_s=int(time.time())).token
    with pytest.raises(TokenError, match="invalid"):
        verify_access_token(fresh, secret="y" * 40)
    with pytest.raises(TokenError):
        verify_access_token("not.a.token", secret=SECRET)


def test_refresh_tokens_are_random_and_stored_hashed() -> None:
    a, a_hash = new_refresh_token()
    b, _ = new_refresh_token()
    assert a != b and a_hash == hash_opaque_token(a) and a not in a_hash


def test_passwords() -> None:
    h = hash_password("correct horse")
    assert verify_password(h, "correct horse")
    assert not verify_password(h, "wrong")
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "x")


def test_scoping_rules() -> None:
    patient = Principal(subject="u2", role="patient", clinic_id="c1", patient_id="p1")
    assert patient.may_read_patient("p1", "c1") and not patient.may_read_patient("p2", "c1")
    assert NURSE.may_read_patient("p2", "c1") and not NURSE.may_read_patient("p3", "c2")
    device = Principal(subject="d", role="device", clinic_id="c1", patient_id="p1")
    assert device.may_write_for_patient("p1") and not device.may_write_for_patient("p2")
    assert not NURSE.may_write_for_patient("p1")
