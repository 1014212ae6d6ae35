"""The pure part of the Kafka read-back: recognising this buffer's own dead letters."""

from __future__ import annotations

import pytest

from ingest.gateway.kafka_tail import dead_letter_number


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("ble:C0:00:00:00:00:01/hrm@abc123:0", 0),
        ("ble:C0:00:00:00:00:01/pmd-data@abc123:41", 41),
        ("buffer:patient-1@abc123:7", 7),
        ("ble:x/hrm@other-buffer:7", None),  # another gateway's buffer
        ("kafka:sensor.hr.v1/3@1200", None),  # another stage's dead letter
        ("ble:x/hrm@abc123:", None),
        ("ble:x/hrm@abc123:12a", None),
        (None, None),
    ],
)
def test_dead_letter_numbers_are_read_only_from_this_buffers_origins(origin: str | None, expected: int | None) -> None:
    assert dead_letter_number(origin, "abc123") == expected
