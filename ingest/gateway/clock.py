"""Host clock injection and the anchoring of a strap's clock to host time.

A Polar strap stamps each PMD frame with its own clock (ns since 2000-01-01, the time of the frame's last
sample). That clock is only as good as the last time an app set it: an H10 whose time was never set restarts at
2019-01-01 on every shutdown (``TimeSystemExplained.md``). The gateway therefore keeps both clocks on every
reading: ``device_time_ns`` (the strap clock, converted to Unix ns) and ``gateway_time_ns`` (host time). For PMD
frames ``gateway_time_ns`` is the device time shifted by an offset taken at the first frame after each connect,
so the strap's steady sample clock, not BLE delivery jitter, spaces the frames on the host timeline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final, Protocol

# A frame whose anchored time is this far from its arrival time means the strap clock jumped (reset, or set by
# another app) or the offset is stale; the anchor is then taken again from this frame.
REANCHOR_THRESHOLD_NS: Final = 5_000_000_000


class Clock(Protocol):
    """Wall-clock time as Unix ns."""

    def time_ns(self) -> int: ...


class SystemClock:
    """The host's wall clock."""

    def time_ns(self) -> int:
        return time.time_ns()


@dataclass(slots=True)
class ClockAnchor:
    """Maps a strap's Unix-converted clock onto host time with one offset per connection.

    ``offset_ns`` is ``host_arrival_ns - device_unix_ns`` of the first frame after :meth:`reset`.
    """

    reanchor_threshold_ns: int = REANCHOR_THRESHOLD_NS
    offset_ns: int | None = None
    reanchors: int = 0

    def reset(self) -> None:
        """Forget the offset; call on every (re)connect, because the strap clock may have restarted."""
        self.offset_ns = None

    def host_time_ns(self, device_unix_ns: int, arrival_ns: int) -> int:
        """Host time of a device timestamp; the first call after :meth:`reset` takes the offset."""
        if self.offset_ns is None:
            self.offset_ns = arrival_ns - device_unix_ns
        anchored = device_unix_ns + self.offset_ns
        if abs(anchored - arrival_ns) > self.reanchor_threshold_ns:
            self.offset_ns = arrival_ns - device_unix_ns
            self.reanchors += 1
            anchored = arrival_ns
        return anchored
