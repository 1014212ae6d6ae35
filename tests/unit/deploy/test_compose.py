"""The hospital deployment (deploy/compose) must name the same topics, settings and commands as the code."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from analytics.stream.settings import WorkerSettings
from ingest.kafka_config import KafkaSettings
from services.api.settings import ApiSettings
from services.cli.main import build_parser
from services.cli.ops_cmd import ALL_EVENTS
from services.db.settings import DatabaseSettings
from services.integrations.dispatch.settings import DispatcherSettings
from services.settings import RuntimeSettings
from services.sink.settings import SinkSettings
from services.stack.config import KAFKA_VERSION, PG_MAJOR, StackConfig, render_server_properties

REPO = Path(__file__).resolve().parents[3]
COMPOSE = REPO / "deploy" / "compose" / "compose.yaml"
REQUIRED_SECRETS = ("POSTGRES_PASSWORD", "CARDIO_DB_PASSWORD", "CARDIO_API_JWT_SECRET")
LONG_RUNNING = ("kafka", "timescaledb", "api", "sink", "worker", "dispatcher")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _env_names(settings_type: type[BaseSettings]) -> set[str]:
    prefix = settings_type.model_config.get("env_prefix", "")
    names = set()
    for name, field in settings_type.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


def known_settings() -> set[str]:
    known = {"CARDIO_ENV_FILE"}
    for settings_type in (
        KafkaSettings,
        DatabaseSettings,
        ApiSettings,
        WorkerSettings,
        SinkSettings,
        RuntimeSettings,
        DispatcherSettings,
    ):
        known |= _env_names(settings_type)
    return known


def test_images_are_the_official_ones_at_the_versions_the_local_stack_runs(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"
    assert re.fullmatch(rf"timescale/timescaledb:2\.\d+\.\d+-pg{PG_MAJOR}", services["timescaledb"]["image"])


def test_every_cardio_variable_is_a_setting_the_code_reads(compose: dict[str, Any]) -> None:
    used = set()
    for service in compose["services"].values():
        used |= {k for k in (service.get("environment") or {}) if k.startswith("CARDIO_")}
    used |= set(compose["x-cardio-env"])
    unknown = sorted(v for v in used if v.startswith("CARDIO_") and v not in known_settings() | {"CARDIO_DB_PASSWORD"})
    assert not unknown, f"compose sets variables no settings class reads: {unknown}"


def test_required_secrets_have_no_defaults() -> None:
    text = COMPOSE.read_text()
    for secret in REQUIRED_SECRETS:
        uses = re.findall(rf"\$\{{{secret}([^}}]*)\}}", text)
        assert uses, f"{secret} is never required"
        assert all(u.startswith(":?") for u in uses), f"{secret} must be written ${{{secret}:?...}}, got {uses}"
    assert "rehab-demo" not in text and "changeme" not in text.lower()


def test_long_running_services_have_health_checks(compose: dict[str, Any]) -> None:
    for name in LONG_RUNNING:
        check = compose["services"][name].get("healthcheck")
        assert check and check.get("test"), f"{name} has no health check"


def test_every_command_is_a_real_cli_command(compose: dict[str, Any]) -> None:
    parser = build_parser()
    commands = []
    for service in compose["services"].values():
        if "command" in service:
            commands.append(service["command"])
        test = (service.get("healthcheck") or {}).get("test") or []
        if test[:2] == ["CMD", "cardiorehab"]:
            commands.append(test[1:])
    assert commands
    for command in commands:
        argv = command if isinstance(command, list) else shlex.split(command)
        assert argv[0] == "cardiorehab"
        parser.parse_args(argv[1:])  # exits (fails the test) on an unknown command or flag


def test_topics_job_creates_every_documented_topic(compose: dict[str, Any]) -> None:
    assert compose["services"]["topics"]["command"] == ["cardiorehab", "topics", "ensure"]
    readme_topics = set(re.findall(r"^\| `([a-z.]+\.v1)` \|", (REPO / "README.md").read_text(), flags=re.M))
    assert readme_topics == {e.TOPIC for e in ALL_EVENTS}
    compacted = {e.TOPIC for e in ALL_EVENTS if e.COMPACTED}
    assert compacted == {"prescriptions.v1"}


def test_kafka_settings_match_the_local_stack(compose: dict[str, Any]) -> None:
    env = compose["services"]["kafka"]["environment"]
    local = dict(line.split("=", 1) for line in render_server_properties(StackConfig()).splitlines() if "=" in line)
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "group.initial.rebalance.delay.ms",
        "auto.create.topics.enable",
        "process.roles",
        "num.partitions",
    ):
        assert env["KAFKA_" + key.upper().replace(".", "_")] == local[key], key
    assert compose["x-cardio-env"]["CARDIO_KAFKA_PARTITIONS"] == local["num.partitions"]
