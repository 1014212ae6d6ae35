"""The role table: every action has an owner, patients never act for others, devices only write readings."""

from __future__ import annotations

from services.auth.device_tokens import is_device_token, new_device_token
from services.auth.permissions import PERMISSIONS, Action, allowed
from services.auth.principal import ROLES
from services.auth.tokens import hash_opaque_token


def test_every_action_is_in_the_table_and_names_known_roles() -> None:
    assert set(PERMISSIONS) == set(Action)
    for action, roles in PERMISSIONS.items():
        assert roles and roles <= set(ROLES), action


def test_devices_only_write_readings() -> None:
    assert [a for a in Action if allowed("device", a)] == [Action.READINGS_WRITE]
    assert [r for r in ROLES if allowed(r, Action.READINGS_WRITE)] == ["device"]


def test_only_patients_enter_their_own_data_and_only_clinicians_change_records() -> None:
    assert [r for r in ROLES if allowed(r, Action.ENTRY_WRITE)] == ["patient"]
    for action in (Action.PATIENT_WRITE, Action.DEVICE_MANAGE, Action.PRESCRIPTION_WRITE, Action.ALERT_ACT):
        assert not allowed("patient", action) and not allowed("integration", action), action
    assert allowed("charge_nurse", Action.ALERT_SNOOZE_URGENT) and not allowed("nurse", Action.ALERT_SNOOZE_URGENT)


def test_device_tokens_are_random_prefixed_and_stored_hashed() -> None:
    a, a_hash = new_device_token()
    b, _ = new_device_token()
    assert a != b and is_device_token(a) and not is_device_token("eyJhbGciOi")
    assert a_hash == hash_opaque_token(a) and a not in a_hash and len(a) > 40
