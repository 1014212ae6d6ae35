"""Apache Kafka (KRaft, single node) from Maven Central jars, run with the machine's Java."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Final

from services.stack.config import LOOPBACK, StackConfig, render_server_properties, repo_root
from services.stack.errors import StackError
from services.stack.procs import port_open, run_checked, running, start_detached, stop_pid

MARKER: Final = "kafka.Kafka"
READY_TIMEOUT_S: Final = 90.0
TOOLS_HEAP: Final = "-Xmx256m"  # STACK.md: the storage tool needs little; the JVM default is a quarter of RAM


def ensure_jars(config: StackConfig) -> Path:
    """Download the broker jars into the shared cache once; later calls return at once."""
    libs = config.kafka_libs
    done_marker = libs.parent / ".complete"
    if done_marker.exists() and any(libs.glob("kafka_2.13-*.jar")):
        return libs
    if shutil.which("mvn") is None:
        raise StackError("Kafka jars: Maven (mvn) is not installed; apt-get install maven")
    pom_src = repo_root() / "deploy" / "local" / "kafka" / "pom.xml"
    work = libs.parent
    work.mkdir(parents=True, exist_ok=True)
    pom = work / "pom.xml"
    pom.write_text(pom_src.read_text().replace("${kafka.version}", config.kafka_version))
    run_checked(
        [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(pom),
            "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={libs}",
        ],
        f"downloading Kafka {config.kafka_version} from Maven Central",
    )
    done_marker.write_text(config.kafka_version + "\n")
    return libs


def _java_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CLASSPATH", None)
    return env


def format_storage(config: StackConfig, cluster_id: str) -> None:
    """Format the KRaft log folder once (the tool leaves an already formatted folder alone)."""
    props = config.kafka_dir / "server.properties"
    run_checked(
        [
            "java",
            TOOLS_HEAP,
            f"-Dlog4j.configuration=file:{_log4j_config()}",
            f"-Dkafka.log.dir={config.logs_dir}",
            "-cp",
            f"{config.kafka_libs}/*",
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(props),
            "--ignore-formatted",
        ],
        "formatting Kafka storage",
        env=_java_env(),
    )


def _log4j_config() -> Path:
    return repo_root() / "deploy" / "local" / "kafka" / "log4j.properties"


def start(config: StackConfig, cluster_id: str | None) -> tuple[int, str]:
    """Write the configuration, format storage if new, start the broker; returns (pid, cluster id)."""
    if port_open(config.kafka_port) or port_open(config.kafka_controller_port):
        raise StackError(
            f"Kafka: port {config.kafka_port} or {config.kafka_controller_port} on {LOOPBACK} is already in use "
            "by a process this stack did not start; stop it or choose other ports (--kafka-port)"
        )
    ensure_jars(config)
    config.kafka_dir.mkdir(parents=True, exist_ok=True)
    (config.kafka_dir / "server.properties").write_text(render_server_properties(config))
    cluster_id = cluster_id or _random_cluster_id()
    format_storage(config, cluster_id)
    argv = [
        "java",
        *config.kafka_heap.split(),
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{_log4j_config()}",
        f"-Dkafka.log.dir={config.logs_dir}",
        "-cp",
        f"{config.kafka_libs}/*",
        MARKER,
        str(config.kafka_dir / "server.properties"),
    ]
    pid = start_detached(argv, config.logs_dir / "kafka.out", env=_java_env())
    return pid, cluster_id


def _random_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (what StorageTool random-uuid prints).

    Like Kafka's own ``Uuid.randomUuid``, never one starting with "-": the storage tool would read it as an option.
    """
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def wait_ready(config: StackConfig, pid: int, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Ready when the port answers and one metadata request succeeds (STACK.md)."""
    deadline = time.monotonic() + timeout_s
    last_error = "port closed"
    while time.monotonic() < deadline:
        if not running(pid):  # not pid_alive(pid, MARKER): the command line can lag the start (see running)
            raise StackError(f"Kafka exited during start-up; see {config.logs_dir / 'kafka.out'} and kafka.log")
        if port_open(config.kafka_port):
            ok, last_error = metadata_ok(config.kafka_bootstrap)
            if ok:
                return
        time.sleep(0.5)
    raise StackError(f"Kafka not ready after {timeout_s:.0f} s ({last_error}); see {config.logs_dir / 'kafka.log'}")


def metadata_ok(bootstrap: str, timeout_s: float = 5.0) -> tuple[bool, str]:
    """One metadata round trip with aiokafka; returns (healthy, detail)."""
    import logging

    from aiokafka import AIOKafkaClient

    # A refused connection is the expected answer while the broker starts; keep it out of the console.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    async def probe() -> str:
        client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000))
        try:
            async with asyncio.timeout(timeout_s):
                await client.bootstrap()
            async with asyncio.timeout(timeout_s):
                metadata = await client.fetch_all_metadata()
            return f"{len(metadata.brokers())} broker(s), {len(metadata.topics())} topic(s)"
        finally:
            await client.close()

    try:
        return True, asyncio.run(probe())
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"


def stop(pid: int) -> bool:
    return stop_pid(pid, MARKER, timeout_s=60.0)
