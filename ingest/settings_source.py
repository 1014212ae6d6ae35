"""Where settings come from besides the environment: the local stack's env file, when it exists.

`cardiorehab stack up` writes development connection values to ``<checkout>/.stack/cardiorehab.env``. A deployment
sets ``CARDIO_ENV_FILE`` to its own file, or to an empty string to use the process environment only. Settings are
built when a process starts (never at import), so this is looked up each time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

from pydantic_settings import BaseSettings

S = TypeVar("S", bound=BaseSettings)


def env_file() -> str | None:
    configured = os.environ.get("CARDIO_ENV_FILE")
    if configured is not None:
        return configured or None
    local = Path(__file__).resolve().parents[1] / ".stack" / "cardiorehab.env"
    return str(local) if local.exists() else None


def load(settings_type: type[S], **overrides: Any) -> S:
    """Build settings from the environment, then the env file; keyword overrides win over both."""
    return settings_type(_env_file=env_file(), **overrides)
