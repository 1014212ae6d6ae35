"""The stored (editable) hospital configuration: references instead of secrets, HospitalConfig's rules, round trip."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from services.integrations.stored import UNRESOLVED_SECRET, StoredHospitalConfig

BASE: dict[str, Any] = {
    "hospital_id": "genhosp",
    "sending_application": {"universal_id": "01-23-45-67-89-ab-cd-ef"},
    "sending_facility": "CARDIOREHAB",
    "receiving_application": "ENGINE",
    "receiving_facility": "GENHOSP",
}
FHIR = {"rest_hook_url": "https://engine.genhosp.example/hook", "bearer_token_ref": "env:GENHOSP_HOOK_TOKEN"}
MLLP = {"host": "engine.genhosp.example", "port": 6661}


def _stored(**overrides: Any) -> StoredHospitalConfig:
    return StoredHospitalConfig.model_validate({**BASE, **overrides})


def test_a_secret_in_place_of_a_reference_is_refused() -> None:
    with pytest.raises(ValidationError, match="bearer_token"):
        _stored(fhir={**FHIR, "bearer_token": "s3cr3t"})
    with pytest.raises(ValidationError, match="bearer_token_ref"):
        _stored(fhir={**FHIR, "bearer_token_ref": "s3cr3t"})
    with pytest.raises(ValidationError, match="bearer_token_ref"):
        _stored(fhir={"rest_hook_url": FHIR["rest_hook_url"]})  # say null explicitly when there is none


def test_hospital_config_rules_apply_when_stored() -> None:
    with pytest.raises(ValidationError, match="https"):
        _stored(fhir={**FHIR, "rest_hook_url": "http://engine.genhosp.example/hook"})
    with pytest.raises(ValidationError, match="at least one of fhir or mllp"):
        _stored()
    with pytest.raises(ValidationError, match="need an mllp endpoint"):
        _stored(fhir=FHIR, send_alerts_pcd04=True)
    with pytest.raises(ValidationError, match="credentials in bearer_token"):
        _stored(fhir={**FHIR, "headers": {"Authorization": "Bearer x"}})


def test_resolved_config_carries_the_secret_and_unresolved_a_placeholder() -> None:
    stored = _stored(fhir=FHIR, mllp=MLLP, send_alerts_pcd04=True)
    resolved = stored.resolved(lambda ref: SecretStr(f"value-of-{ref}"))
    assert resolved.fhir is not None and resolved.fhir.bearer_token is not None
    assert resolved.fhir.bearer_token.get_secret_value() == "value-of-env:GENHOSP_HOOK_TOKEN"
    unresolved = stored.unresolved()
    assert unresolved.fhir is not None and unresolved.fhir.bearer_token == UNRESOLVED_SECRET
    assert unresolved.mllp == resolved.mllp and unresolved.send_alerts_pcd04
    none = _stored(fhir={**FHIR, "bearer_token_ref": None}).resolved(lambda ref: pytest.fail("no secret needed"))
    assert none.fhir is not None and none.fhir.bearer_token is None


def test_parts_round_trip_and_the_settings_part_holds_no_endpoint() -> None:
    stored = _stored(fhir=FHIR, mllp=MLLP, send_alerts_pcd04=True, alert_tiers=["urgent"], mrn_system="urn:oid:1.2")
    settings = stored.settings_part()
    assert "fhir" not in settings and "mllp" not in settings and "hospital_id" not in settings
    fhir = stored.fhir_part()
    assert fhir is not None and "bearer_token_ref" not in fhir[0] and fhir[1] == "env:GENHOSP_HOOK_TOKEN"
    again = StoredHospitalConfig.from_parts("genhosp", settings, fhir[0], fhir[1], stored.mllp_part())
    assert again == stored
