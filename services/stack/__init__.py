"""The local development stack: real Kafka (KRaft) and PostgreSQL + TimescaleDB on loopback, no Docker."""

from services.stack.config import StackConfig
from services.stack.manager import StackManager, StackStatus

__all__ = ["StackConfig", "StackManager", "StackStatus"]
