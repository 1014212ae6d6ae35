"""The BLE gateway: strap -> bleak -> durable SQLite buffer -> Kafka (``cardiorehab gateway``)."""

from ingest.gateway.backoff import BackoffPolicy, Transience, backoff_delay_s, classify
from ingest.gateway.buffer import BufferedRow, BufferLimits, BufferStats, DeadLetterDraft, ReadingBuffer
from ingest.gateway.clock import Clock, ClockAnchor, SystemClock
from ingest.gateway.forwarder import Forwarder, ForwarderStats
from ingest.gateway.gateway import Gateway, GatewayState
from ingest.gateway.service import GatewayReport, run_gateway
from ingest.gateway.session import DeviceInfo
from ingest.gateway.settings import GatewaySettings
from ingest.gateway.stats import GatewayStats

__all__ = [
    "BackoffPolicy",
    "BufferLimits",
    "BufferStats",
    "BufferedRow",
    "Clock",
    "ClockAnchor",
    "DeadLetterDraft",
    "DeviceInfo",
    "Forwarder",
    "ForwarderStats",
    "Gateway",
    "GatewayReport",
    "GatewaySettings",
    "GatewayState",
    "GatewayStats",
    "ReadingBuffer",
    "SystemClock",
    "Transience",
    "backoff_delay_s",
    "classify",
    "run_gateway",
]
