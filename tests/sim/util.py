"""Small async helpers for simulation tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def eventually(predicate: Callable[[], bool], *, within_s: float = 5.0, every_s: float = 0.01) -> None:
    """Wait until ``predicate()`` is true; ``TimeoutError`` if it is still false after ``within_s``."""
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110 - polls state owned by other objects, which set no event
            await asyncio.sleep(every_s)
