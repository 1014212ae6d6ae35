"""wait_set: set, timed out, and cancelled even when the event is set in the same loop step."""

from __future__ import annotations

import asyncio

import pytest

from ingest.aio import wait_set


async def test_true_when_set_false_on_timeout() -> None:
    event = asyncio.Event()
    assert not await wait_set(event, 0.01)
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_set(event, 5.0)


async def test_a_cancel_racing_with_the_event_still_cancels() -> None:
    event = asyncio.Event()

    async def idle() -> None:
        while True:
            await wait_set(event, 5.0)
            event.clear()

    task = asyncio.create_task(idle())
    await asyncio.sleep(0)
    event.set()
    task.cancel()  # in the same step as the set: wait_for on 3.11 could lose this cancel
    async with asyncio.timeout(1.0):  # a lost cancel would leave the task idling: TimeoutError
        with pytest.raises(asyncio.CancelledError):
            await task
