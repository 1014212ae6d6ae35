"""Signal quality states."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analytics.physiology import SignalState, assess_signal_quality, classify_signal


def _q(**kw: float) -> SignalState:
    base = {
        "data_age_s": 0.5,
        "no_contact_s": 0.0,
        "missing_fraction": 0.0,
        "implausible_fraction": 0.0,
        "artefact_fraction": 0.0,
    }
    return classify_signal(**(base | kw)).state


@pytest.mark.parametrize(
    ("kw", "state"),
    [
        ({}, SignalState.OK),
        ({"artefact_fraction": 0.2}, SignalState.DEGRADED),
        ({"missing_fraction": 0.5}, SignalState.DEGRADED),
        ({"implausible_fraction": 0.1}, SignalState.DEGRADED),
        ({"no_contact_s": 5.0, "artefact_fraction": 0.3}, SignalState.NO_CONTACT),
        ({"data_age_s": 6.0, "no_contact_s": 5.0}, SignalState.STALE),
        ({"data_age_s": 31.0}, SignalState.LOST),
        ({"data_age_s": math.inf}, SignalState.LOST),
    ],
)
def test_priority_of_states(kw: dict[str, float], state: SignalState) -> None:
    assert _q(**kw) == state


def test_reasons_say_what_to_do() -> None:
    q = classify_signal(
        data_age_s=0.1, no_contact_s=4.0, missing_fraction=0, implausible_fraction=0, artefact_fraction=0
    )
    assert "strap" in q.reasons[0]


def test_assess_from_readings() -> None:
    t = np.arange(60) + 0.5
    hr = np.full(60, 80.0)
    ok = assess_signal_quality(60.2, t, hr, np.ones(60), 0.0)
    assert ok.state == SignalState.OK and ok.data_age_s == pytest.approx(0.7)
    assert ok.missing_fraction == 0.0
    gappy = hr.copy()
    gappy[10:30] = np.nan
    assert assess_signal_quality(60.2, t, gappy, None, 0.0).state == SignalState.DEGRADED
    bad = hr.copy()
    bad[::5] = 400.0
    q = assess_signal_quality(60.2, t, bad, None, 0.0)
    assert q.implausible_fraction == pytest.approx(0.2) and q.state == SignalState.DEGRADED
    contact = np.ones(60)
    contact[-5:] = 0.0
    assert assess_signal_quality(60.2, t, hr, contact, 0.0).state == SignalState.NO_CONTACT
    assert assess_signal_quality(70.0, t, hr, None, 0.0).state == SignalState.STALE
    assert assess_signal_quality(100.0, t, hr, None, 0.0).state == SignalState.LOST
    assert assess_signal_quality(5.0, [], [], None, 0.0).state == SignalState.LOST
