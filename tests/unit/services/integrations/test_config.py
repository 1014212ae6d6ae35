"""Per-hospital configuration: required secrets, endpoint consistency, alert selection, cadence, escalation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.integrations.config import HospitalConfig

BASE: dict[str, Any] = {
    "hospital_id": "genhosp",
    "sending_application": {"universal_id": "01-23-45-67-89-ab-cd-ef"},
    "sending_facility": "CARDIOREHAB",
    "receiving_application": "ENGINE",
    "receiving_facility": "GENHOSP",
}
FHIR = {"rest_hook_url": "https://engine.genhosp.example/hook", "bearer_token": "s3cr3t-token"}
MLLP = {"host": "engine.genhosp.example", "port": 6661}


def _config(**overrides: Any) -> HospitalConfig:
    return HospitalConfig.model_validate({**BASE, **overrides})


def test_secrets_are_hidden_and_have_no_default() -> None:
    config = _config(fhir=FHIR)
    assert config.fhir is not None
    assert config.fhir.bearer_token is not None
    assert config.fhir.bearer_token.get_secret_value() == "s3cr3t-token"
    assert "s3cr3t" not in repr(config)
    assert "s3cr3t" not in config.model_dump_json()
    with pytest.raises(ValidationError, match="bearer_token"):
        _config(fhir={"rest_hook_url": FHIR["rest_hook_url"]})
    assert _config(fhir={**FHIR, "bearer_token": None}).fhir is not None  # explicitly none (e.g. mTLS)


def test_endpoints_must_match_what_is_sent() -> None:
    with pytest.raises(ValidationError, match="at least one of fhir or mllp"):
        _config()
    with pytest.raises(ValidationError, match="need an mllp endpoint"):
        _config(fhir=FHIR, observations={"send_pcd01": True})
    with pytest.raises(ValidationError, match="need an mllp endpoint"):
        _config(fhir=FHIR, send_alerts_pcd04=True)
    with pytest.raises(ValidationError, match="need a fhir endpoint"):
        _config(mllp=MLLP, observations={"send_fhir": True})
    assert _config(mllp=MLLP, send_alerts_pcd04=True, observations={"send_pcd01": True}).mllp is not None


def test_rest_hook_must_be_https_and_credentials_stay_out_of_plain_headers() -> None:
    with pytest.raises(ValidationError, match="https"):
        _config(fhir={**FHIR, "rest_hook_url": "http://engine.genhosp.example/hook"})
    with pytest.raises(ValidationError, match="bearer_token"):
        _config(fhir={**FHIR, "headers": {"Authorization": "Bearer x"}})


def test_unknown_fields_and_bad_ports_are_refused() -> None:
    with pytest.raises(ValidationError):
        _config(mllp={**MLLP, "port": 70000})
    with pytest.raises(ValidationError):
        _config(mllp=MLLP, surprise=True)
    with pytest.raises(ValidationError, match="EUI-64"):
        _config(mllp=MLLP, sending_application={"universal_id": "not-hex"})


def test_alert_selection_by_tier_and_rule(make_alert) -> None:
    default = _config(mllp=MLLP)
    assert default.wants_alert(make_alert(tier="urgent"))
    assert default.wants_alert(make_alert(tier="nurse"))
    assert not default.wants_alert(make_alert(tier="patient_cue"))
    narrow = _config(mllp=MLLP, alert_tiers=["urgent"], alert_rules=["signal_lost"])
    assert not narrow.wants_alert(make_alert(tier="urgent", rule="hr_above_ceiling"))
    assert narrow.wants_alert(make_alert(tier="urgent", rule="signal_lost"))
    with pytest.raises(ValidationError, match="alert_tiers is empty"):
        _config(mllp=MLLP, alert_tiers=[])


def test_observation_cadence() -> None:
    feed = _config(mllp=MLLP, observations={"send_pcd01": True, "cadence_s": 60}).observations
    assert feed.due(None, 100)
    assert not feed.due(100, 159)
    assert feed.due(100, 160)


def test_escalation_defaults_and_patient_cues_do_not_escalate() -> None:
    escalation = _config(mllp=MLLP).escalation
    urgent, nurse = escalation.for_tier("urgent"), escalation.for_tier("nurse")
    assert urgent is not None
    assert nurse is not None
    assert urgent.to_charge_nurse_s < nurse.to_charge_nurse_s
    assert escalation.for_tier("patient_cue") is None


def test_context_carries_the_normalised_sender() -> None:
    context = _config(mllp=MLLP, point_of_care="HOMEREHAB").context()
    assert context.sending_application_id == "0123456789ABCDEF"
    assert (context.sending_application, context.sending_application_id_type) == ("CARDIOREHAB", "EUI-64")
    assert (context.receiving_facility, context.point_of_care, context.processing_id) == ("GENHOSP", "HOMEREHAB", "P")
