"""Settings of the analytics worker (prefix ``CARDIO_WORKER_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    """One faust worker. Workers sharing ``app_id`` form one consumer group and share the partitions."""

    model_config = SettingsConfigDict(env_prefix="CARDIO_WORKER_", extra="ignore")

    app_id: str = Field(default="cardiorehab-analytics", pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(default="worker-1", pattern=r"^[A-Za-z0-9._-]+$", description="unique per worker process")
    data_dir: Path = Field(default=Path(".stack/faust"), description="RocksDB tables live under <data_dir>/<name>")
    log_level: str = "info"
    bundle_linger_ms: int = Field(
        default=25, ge=1, le=1000, description="the bundler gathers each partition's readings this long (adds latency)"
    )
    bundle_max_records: int = Field(default=500, ge=1, le=10_000, description="readings in one bundle at most")
    bundler_process: bool = Field(
        default=True, description="run the bundler in a child process (another core) rather than in the worker's loop"
    )
    runtime_processes: int = Field(
        default=2,
        ge=0,
        le=16,
        description="child processes that run the patients' physiology (partition p in process p % n); 0: the "
        "worker's own thread",
    )
    batch_max: int = Field(default=100, ge=1, le=10_000, description="bundles the agent processes together at most")
    batch_wait_ms: int = Field(default=5, ge=1, le=1000, description="longest wait to fill a batch (adds latency)")
    producer_linger_ms: int = Field(
        default=5, ge=0, le=100, description="batch produced messages for up to this long (latency vs CPU)"
    )
    fetch_max_wait_ms: int = Field(
        default=20,
        ge=1,
        le=1500,
        description="longest the broker holds a fetch with nothing new (faust's own 1,500 ms delayed readings)",
    )
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    store: str = Field(default="rocksdb://", description="faust table store; memory:// only for agent unit tests")
    commit_interval_s: float = Field(default=1.0, gt=0, le=60)
    persist_interval_s: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="how often a patient's state is written to the table (and its readings acknowledged)",
    )
    # How fast the group notices a dead worker and moves its patients to the others (heartbeat every third of it).
    session_timeout_s: float = Field(default=10.0, ge=6, le=300)
    web_port: int | None = Field(default=None, description="faust's web server (off unless a port is given)")
    # Net allocations of tracked objects between young-generation collections (CPython's default is 700); see
    # ingest/collector.py. Measured at 5,000 patients: p50 0.95 s -> 0.08-0.13 s when the machine is not saturated.
    gc_gen0_threshold: int = Field(default=200_000, ge=700, le=10_000_000)
