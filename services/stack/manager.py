"""`cardiorehab stack up|down|status`: bring the local stack to a state, idempotently, and report it."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from services.stack import kafka, postgres
from services.stack.config import APP_ROLE, SUPERUSER, StackConfig
from services.stack.errors import StackError
from services.stack.procs import pid_alive


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    running: bool
    healthy: bool
    pid: int | None
    address: str
    detail: str
    started_by_this_call: bool = False


@dataclass(frozen=True)
class StackStatus:
    components: tuple[ComponentStatus, ...]
    env_file: str
    logs_dir: str

    @property
    def healthy(self) -> bool:
        return all(c.healthy for c in self.components)

    @property
    def started_anything(self) -> bool:
        return any(c.started_by_this_call for c in self.components)

    def to_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "started": self.started_anything,
            "env_file": self.env_file,
            "logs_dir": self.logs_dir,
            "components": [asdict(c) for c in self.components],
        }

    def render(self) -> str:
        rows = [
            f"{c.name:<12} {'healthy' if c.healthy else ('running' if c.running else 'stopped'):<8} "
            f"pid={c.pid or '-':<8} {c.address:<22} {c.detail}"
            for c in self.components
        ]
        return "\n".join([*rows, f"env: {self.env_file}", f"logs: {self.logs_dir}"])


class StackManager:
    """Owns the state folder: which pids it started, the generated development secrets, the env file."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config

    # -- state ---------------------------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.config.state_file.read_text())
            return data
        except (OSError, ValueError):
            return {}

    def _save(self, state: dict[str, Any]) -> None:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.config.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        os.chmod(tmp, 0o600)  # holds development passwords
        tmp.replace(self.config.state_file)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.config.state_dir, 0o755)  # noqa: S103 - the postgres account must reach its data folder
        with open(self.config.state_dir / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @staticmethod
    def _secret(state: dict[str, Any], name: str) -> str:
        generated: dict[str, str] = state.setdefault("secrets", {})
        if name not in generated:
            generated[name] = secrets.token_urlsafe(24)
        return generated[name]

    # -- commands ------------------------------------------------------------------------------------------
    def up(self) -> StackStatus:
        with self._locked():
            state = self._load()
            pg_super = self._secret(state, "pg_superuser_password")
            pg_app = self._secret(state, "pg_app_password")
            self._secret(state, "jwt_secret")
            self._save(state)
            pids: dict[str, int] = {}  # what this call spawned, by component
            try:
                self._start_missing(state, pg_super, pg_app, pids)
            except BaseException:
                # Leave nothing half-started behind (a broker that never became ready, a postmaster whose
                # bootstrap failed): the caller sees the error and a clean machine.
                if "kafka" in pids:
                    kafka.stop(pids["kafka"])
                if "postgres" in pids:
                    postgres.stop(self.config, pids["postgres"])
                raise
            self._write_env(state)
            return self._status(state, set(pids))

    def _start_missing(self, state: dict[str, Any], pg_super: str, pg_app: str, pids: dict[str, int]) -> None:
        """Start Kafka and PostgreSQL unless they already run for this stack; ``pids`` gets what was spawned."""
        kstate = state.get("kafka", {})
        if not kafka.metadata_ok(self.config.kafka_bootstrap)[0] or not self._owns("kafka", state):
            if self._owns("kafka", state):
                kafka.stop(int(kstate["pid"]))
            pid, cluster_id = kafka.start(self.config, kstate.get("cluster_id"))
            pids["kafka"] = pid
            state["kafka"] = {
                "pid": pid,
                "cluster_id": cluster_id,
                "port": self.config.kafka_port,
                "controller_port": self.config.kafka_controller_port,
            }
            self._save(state)
            kafka.wait_ready(self.config, pid)

        if not self._owns("postgres", state) or not postgres.health(self.config, pg_app)[0]:
            postgres.ensure_timescaledb(self.config)
            postgres.init_cluster(self.config, pg_super)
            pid_now = postgres.postmaster_pid(self.config)
            if not (pid_now and pid_alive(pid_now, postgres.MARKER)):
                pid_now = postgres.start(self.config)
                pids["postgres"] = pid_now
            state["postgres"] = {"pid": pid_now, "port": self.config.pg_port}
            self._save(state)
            postgres.bootstrap_database(self.config, pg_super, pg_app)
            postgres.wait_ready(self.config, pg_app)

    def down(self, only: set[str] | None = None) -> StackStatus:
        """Stop the processes this stack started (by recorded pid); ``only`` limits it to some components."""
        with self._locked():
            state = self._load()
            if "kafka" in state and (only is None or "kafka" in only):
                kafka.stop(int(state["kafka"]["pid"]))
            if state.get("postgres", {}).get("pid") and (only is None or "timescaledb" in only):
                postgres.stop(self.config, int(state["postgres"]["pid"]))
            return self._status(state, set())

    def status(self) -> StackStatus:
        return self._status(self._load(), set())

    # -- helpers -------------------------------------------------------------------------------------------
    def _owns(self, name: str, state: dict[str, Any]) -> bool:
        entry = state.get(name) or {}
        marker = kafka.MARKER if name == "kafka" else postgres.MARKER
        return pid_alive(entry.get("pid"), marker)

    def _status(self, state: dict[str, Any], started: set[str]) -> StackStatus:
        kentry = state.get("kafka") or {}
        krunning = self._owns("kafka", state)
        kok, kdetail = kafka.metadata_ok(self.config.kafka_bootstrap) if krunning else (False, "not running")
        pentry = state.get("postgres") or {}
        prunning = self._owns("postgres", state)
        app_pw = (state.get("secrets") or {}).get("pg_app_password", "")
        pok, pdetail = postgres.health(self.config, app_pw) if prunning else (False, "not running")
        return StackStatus(
            components=(
                ComponentStatus(
                    "kafka",
                    krunning,
                    kok,
                    kentry.get("pid"),
                    self.config.kafka_bootstrap,
                    kdetail,
                    "kafka" in started,
                ),
                ComponentStatus(
                    "timescaledb",
                    prunning,
                    pok,
                    pentry.get("pid"),
                    f"127.0.0.1:{self.config.pg_port}",
                    pdetail,
                    "postgres" in started,
                ),
            ),
            env_file=str(self.config.env_file),
            logs_dir=str(self.config.logs_dir),
        )

    def _write_env(self, state: dict[str, Any]) -> None:
        """Connection settings and development secrets for every `cardiorehab` process on this machine."""
        s = state["secrets"]
        values = {
            "CARDIO_ENVIRONMENT": "development",
            "CARDIO_KAFKA_BOOTSTRAP": self.config.kafka_bootstrap,
            "CARDIO_KAFKA_PARTITIONS": str(self.config.kafka_partitions),
            "CARDIO_DB_URL": postgres.dsn(self.config, APP_ROLE, s["pg_app_password"]),
            "CARDIO_DB_ADMIN_URL": postgres.dsn(self.config, SUPERUSER, s["pg_superuser_password"]),
            "CARDIO_API_JWT_SECRET": s["jwt_secret"],
        }
        text = "# written by `cardiorehab stack up`; development values for this machine only\n" + "".join(
            f"{k}={v}\n" for k, v in values.items()
        )
        path: Path = self.config.env_file
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.chmod(tmp, 0o600)
        tmp.replace(path)


def require_healthy(status: StackStatus) -> None:
    if not status.healthy:
        bad = ", ".join(f"{c.name}: {c.detail}" for c in status.components if not c.healthy)
        raise StackError(f"stack not healthy ({bad}); see {status.logs_dir}")
