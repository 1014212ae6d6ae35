"""Liveness by heartbeat file: long-running loops touch a file; ``cardiorehab health <name>`` checks its age.

Used by container health checks (deploy/compose) for processes without an HTTP port (the sink, the worker).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Final

STALE_AFTER_S: Final = 30.0  # three missed 10 s beats


def heartbeat_path(name: str) -> Path:
    base = os.environ.get("CARDIO_HEALTH_DIR") or tempfile.gettempdir()
    return Path(base) / f"cardiorehab-{name}.alive"


def beat(name: str) -> None:
    path = heartbeat_path(name)
    path.write_text(str(time.time()))


def age_s(path: Path) -> float | None:
    try:
        return time.time() - float(path.read_text())
    except (OSError, ValueError):
        return None
