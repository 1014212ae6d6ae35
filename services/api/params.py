"""Path and query parameters shared by the routes, each validated as strictly as the database stores it."""

from __future__ import annotations

from typing import Annotated, Final
from uuid import UUID

from fastapi import Path

ID_PATTERN: Final = r"^[A-Za-z0-9_.:-]{1,64}$"
LONG_ID_PATTERN: Final = r"^[A-Za-z0-9_.:-]{1,128}$"

ClinicId = Annotated[str, Path(pattern=ID_PATTERN, description="clinic id")]
PatientId = Annotated[str, Path(pattern=ID_PATTERN, description="patient id")]
DeviceId = Annotated[str, Path(pattern=ID_PATTERN, description="device id")]
SessionId = Annotated[str, Path(pattern=LONG_ID_PATTERN, description="session id")]
AlertId = Annotated[str, Path(pattern=LONG_ID_PATTERN, description="alert id")]
UserId = Annotated[UUID, Path(description="user id (UUID)")]
TokenId = Annotated[UUID, Path(description="device token id (UUID)")]
Version = Annotated[int, Path(ge=1, le=1_000_000, description="prescription version")]

NO_NUL: Final = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL; refuse it up front with a precise 422
