"""The sink loop's pure parts: a batch's rows per table, encoded when written if decoding did not."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from aiokafka import ConsumerRecord

from services.sink.runner import Decoded, TableRows, group_by_table
from services.sink.tables import ALERT_EVENTS, FEATURES
from tests.integration.services import events_factory as ev


def record(offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord("features.v1", 0, offset, 0, 0, b"p", b"{}", None, 1, 2, ())


def test_a_columnar_table_is_encoded_when_written_if_decoding_did_not() -> None:
    items = [Decoded(FEATURES, ev.features("p", s), record(s), None) for s in range(3)]
    data = TableRows(FEATURES, items).data()
    assert not isinstance(data, list) and data.rows == 3  # type: ignore[union-attr]


def test_an_event_refused_when_written_is_a_bug_not_a_silent_loss() -> None:
    bad = msgspec.structs.replace(ev.features("p", 0), band_pct=1e39)
    with pytest.raises(RuntimeError, match="refused when written"):
        TableRows(FEATURES, [Decoded(FEATURES, bad, record(0), None)]).data()


def test_row_by_row_tables_copy_their_rows() -> None:
    alert = ev.alert("p", "a1", 0, event="raised")
    row: Any = ALERT_EVENTS.to_row(alert)
    assert TableRows(ALERT_EVENTS, [Decoded(ALERT_EVENTS, alert, record(0), row)]).data() == [row]


def test_the_last_message_with_a_key_wins_in_a_regrouped_batch() -> None:
    first, again = ev.features("p", 5), msgspec.structs.replace(ev.features("p", 5), hr_bpm=150.0)
    other = ev.features("q", 5)
    items = [Decoded(FEATURES, e, record(i), None) for i, e in enumerate((first, other, again))]
    [table] = group_by_table(items)
    assert [item.event for item in table.items] == [again, other]
