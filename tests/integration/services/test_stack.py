"""Issue 2: `cardiorehab stack status` reports Kafka and TimescaleDB healthy, and the extension answers."""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg
import pytest

from tests.support.stack import REPO, StackEnv

pytestmark = pytest.mark.integration


def test_status_reports_both_components_healthy(stack: StackEnv) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "stack", "status", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["healthy"] is True
    by_name = {c["name"]: c for c in status["components"]}
    assert by_name["kafka"]["healthy"] and by_name["kafka"]["address"] == stack.bootstrap
    assert by_name["timescaledb"]["healthy"] and "timescaledb" in by_name["timescaledb"]["detail"]


def test_timescaledb_extension_answers(stack: StackEnv) -> None:
    with psycopg.connect(stack.db_url) as conn:
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    assert row is not None and row[0].startswith("2.")


def test_second_up_returns_at_once_and_starts_nothing(stack: StackEnv) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "stack", "up", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["started"] is False
