"""Where the local stack lives and which ports it binds; pure data, no I/O."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

LOOPBACK: Final = "127.0.0.1"
KAFKA_VERSION: Final = "3.9.2"  # STACK.md: the broker version known to work with faust 0.15.3 / aiokafka 0.14
PG_MAJOR: Final = 15  # Debian 12's PostgreSQL, which the TimescaleDB source package builds against
DEFAULT_KAFKA_PORT: Final = 29092
DEFAULT_KAFKA_CONTROLLER_PORT: Final = 29093
DEFAULT_PG_PORT: Final = 25432
DEFAULT_API_PORT: Final = 8420
APP_DATABASE: Final = "cardiorehab"
APP_ROLE: Final = "cardiorehab"
SUPERUSER: Final = "postgres"


def repo_root() -> Path:
    """The checkout this package runs from (the stack is a development tool, installed editable)."""
    return Path(__file__).resolve().parents[2]


def default_cache_dir() -> Path:
    """Downloads shared by every checkout on the machine (Kafka jars, TimescaleDB source)."""
    base = os.environ.get("CARDIO_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "cardiorehab"
    )
    return Path(base)


@dataclass(frozen=True)
class StackConfig:
    """Everything that decides where the stack's files go and which loopback ports it uses."""

    state_dir: Path = field(default_factory=lambda: repo_root() / ".stack")
    cache_dir: Path = field(default_factory=default_cache_dir)
    kafka_port: int = DEFAULT_KAFKA_PORT
    kafka_controller_port: int = DEFAULT_KAFKA_CONTROLLER_PORT
    pg_port: int = DEFAULT_PG_PORT
    kafka_version: str = KAFKA_VERSION
    pg_major: int = PG_MAJOR
    kafka_heap: str = "-Xms512m -Xmx1g"  # STACK.md: without -Xmx the JVM takes a quarter of RAM
    kafka_partitions: int = 12

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "stack.json"

    @property
    def env_file(self) -> Path:
        return self.state_dir / "cardiorehab.env"

    @property
    def kafka_dir(self) -> Path:
        return self.state_dir / "kafka"

    @property
    def kafka_libs(self) -> Path:
        return self.cache_dir / f"kafka-{self.kafka_version}" / "libs"

    @property
    def pg_data(self) -> Path:
        return self.state_dir / "pg" / "data"

    @property
    def pg_bin(self) -> Path:
        return Path(f"/usr/lib/postgresql/{self.pg_major}/bin")

    @property
    def kafka_bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.kafka_port}"


def render_server_properties(config: StackConfig) -> str:
    """The single-node KRaft broker configuration (STACK.md), bound to loopback only."""
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{LOOPBACK}:{config.kafka_controller_port}",
        "listeners": f"PLAINTEXT://{LOOPBACK}:{config.kafka_port},CONTROLLER://{LOOPBACK}:{config.kafka_controller_port}",
        "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{config.kafka_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(config.kafka_dir / "data"),
        "num.partitions": str(config.kafka_partitions),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "12",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # Topics are created by the services with explicit settings; auto-creation would hide typos.
        "auto.create.topics.enable": "false",
        "log.retention.hours": "168",
        "log.segment.bytes": str(64 * 1024 * 1024),
        "num.network.threads": "2",
        "num.io.threads": "4",
    }
    return "".join(f"{k}={v}\n" for k, v in lines.items())


def render_postgresql_conf(config: StackConfig) -> str:
    """Settings appended to the private cluster's postgresql.conf."""
    lines = {
        "listen_addresses": f"'{LOOPBACK}'",
        "port": str(config.pg_port),
        # TCP only: no socket file in a shared /var/run folder that another cluster may own.
        "unix_socket_directories": "''",
        "shared_preload_libraries": "'timescaledb'",
        "timescaledb.telemetry_level": "off",
        "max_connections": "200",
        "shared_buffers": "'256MB'",
        "password_encryption": "'scram-sha-256'",
        "log_min_messages": "warning",
        "log_line_prefix": "'%m [%p] %q%u@%d '",
    }
    return "\n# cardiorehab local stack\n" + "".join(f"{k} = {v}\n" for k, v in lines.items())


PG_HBA: Final = (
    "# cardiorehab local stack: loopback TCP only, passwords required\nhost all all 127.0.0.1/32 scram-sha-256\n"
)
