"""Licence detection and retention periods (pure)."""

from __future__ import annotations

import pytest

from services.db.retention import HYPERTABLES, PLAIN_TABLES, licensed_features, retention_days
from services.db.settings import RetentionSettings


@pytest.mark.parametrize(
    ("setting", "compression"),
    [("apache", False), ("timescale", True), ("Timescale ", True), ("", False), (None, False), ("community", False)],
)
def test_only_the_timescale_license_offers_compression_and_caggs(setting: str | None, compression: bool) -> None:
    features = licensed_features(setting)
    assert features.compression is compression and features.continuous_aggregates is compression


def test_every_pruned_table_has_a_period_and_zero_keeps_forever() -> None:
    days = retention_days(RetentionSettings(sensor_hr_days=0))
    assert set(days) == set(HYPERTABLES) | set(PLAIN_TABLES)
    assert days["sensor_hr"] == 0 and days["audit_log"] >= 365 * 6
