"""Settings of the sink (prefix ``CARDIO_SINK_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SinkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARDIO_SINK_", extra="ignore")

    group_id: str = Field(default="cardiorehab-sink", pattern=r"^[A-Za-z0-9._-]+$")
    # Larger batches mean fewer database round trips per row while catching up (each waits for the decoding of the
    # next batch to hand the event loop back): 10,000 took the sink from 0.67 to 0.75 of a plain COPY.
    batch_max_records: int = Field(default=10_000, ge=1, le=100_000)
    batch_wait_ms: int = Field(default=200, ge=1, le=10_000, description="longest wait to fill a batch")
    fetch_partition_bytes: int = Field(default=8_388_608, ge=65_536, le=268_435_456, description="per fetch")
    retry_initial_s: float = Field(default=0.5, gt=0)
    retry_max_s: float = Field(default=10.0, gt=0)
    # Longer than any database outage we ride out without leaving the consumer group (the loop keeps polling
    # paused partitions, so this is a safety net, not the mechanism).
    max_poll_interval_ms: int = Field(default=600_000, ge=10_000)
    # Net allocations of tracked objects between young-generation collections in the sink's process (CPython's
    # default is 700): above what two batches in flight hold. See ingest/collector.py.
    gc_gen0_threshold: int = Field(default=200_000, ge=700, le=10_000_000)
