"""A private PostgreSQL cluster with the TimescaleDB extension, on a loopback port of its own."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

from services.stack.config import (
    APP_DATABASE,
    APP_ROLE,
    LOOPBACK,
    PG_HBA,
    SUPERUSER,
    StackConfig,
    render_postgresql_conf,
    repo_root,
)
from services.stack.errors import StackError
from services.stack.procs import pid_alive, port_open, run_checked, stop_pid

MARKER: Final = "postgres"
READY_TIMEOUT_S: Final = 60.0
# initdb refuses to run as root; on a root shell (CI) the cluster runs as Debian's `postgres` account.
SERVICE_ACCOUNT: Final = "postgres"


def _as_service_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", SERVICE_ACCOUNT, "--", *argv]


def timescaledb_installed(config: StackConfig) -> bool:
    pg_config = config.pg_bin / "pg_config"
    if not pg_config.exists():
        return False
    libdir = Path(run_checked([str(pg_config), "--pkglibdir"], "pg_config").strip())
    sharedir = Path(run_checked([str(pg_config), "--sharedir"], "pg_config").strip())
    return (libdir / "timescaledb.so").exists() and (sharedir / "extension" / "timescaledb.control").exists()


def ensure_timescaledb(config: StackConfig) -> None:
    """Build and install TimescaleDB from Debian's source package when it is missing (needs root)."""
    if not (config.pg_bin / "initdb").exists():
        raise StackError(
            f"PostgreSQL {config.pg_major} is not installed; apt-get install postgresql-{config.pg_major} "
            f"postgresql-server-dev-{config.pg_major} (or run .ci/run, which installs the system packages)"
        )
    if timescaledb_installed(config):
        return
    if os.geteuid() != 0:
        raise StackError(
            "TimescaleDB is not installed and building it needs root: "
            "run `sudo deploy/local/install-timescaledb.sh` once, then retry"
        )
    script = repo_root() / "deploy" / "local" / "install-timescaledb.sh"
    env = dict(os.environ, PG_MAJOR=str(config.pg_major), CARDIO_CACHE_DIR=str(config.cache_dir))
    run_checked(["bash", str(script)], "building TimescaleDB from Debian's source package", env=env, timeout_s=1200)


def closed_ancestors(path: Path) -> list[Path]:
    """The folders above ``path`` that other accounts may not pass through (no search bit for others)."""
    return [folder for folder in reversed(path.parents) if not folder.stat().st_mode & stat.S_IXOTH]


def _let_service_reach(path: Path) -> None:
    """As root, initdb and the server run as the service account, which must pass through every folder above
    ``path``: a checkout in a private folder (``mktemp -d`` makes it 0700) would stop them with "Permission denied".
    Give those folders the search bit for others (``chmod o+x``: pass through, not list) and say so."""
    if os.geteuid() != 0:
        return
    for folder in closed_ancestors(path):
        os.chmod(folder, folder.stat().st_mode | stat.S_IXOTH)
        print(f"stack: let the `{SERVICE_ACCOUNT}` account pass through {folder} (chmod o+x)", file=sys.stderr)


def _chown_to_service(path: Path) -> None:
    if os.geteuid() != 0:
        return
    account = pwd.getpwnam(SERVICE_ACCOUNT)
    os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
    for root, dirs, files in os.walk(path):
        os.chown(root, account.pw_uid, account.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), account.pw_uid, account.pw_gid, follow_symlinks=False)


def init_cluster(config: StackConfig, superuser_password: str) -> None:
    """initdb a new data folder, then write our configuration and host-based authentication."""
    data = config.pg_data
    if (data / "PG_VERSION").exists():
        return
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVICE_ACCOUNT)
        except KeyError as exc:
            raise StackError("the `postgres` account is missing; apt-get install postgresql-15") from exc
    data.parent.mkdir(parents=True, exist_ok=True)
    _let_service_reach(data.parent)
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(mode=0o700)
    _chown_to_service(data.parent)
    with tempfile.NamedTemporaryFile("w", delete=False, dir=data.parent, prefix="pw") as handle:
        handle.write(superuser_password + "\n")
        pwfile = Path(handle.name)
    _chown_to_service(pwfile)
    try:
        run_checked(
            _as_service_user(
                [
                    str(config.pg_bin / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--data-checksums",
                ]
            ),
            "initdb",
        )
    finally:
        pwfile.unlink(missing_ok=True)
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(render_postgresql_conf(config))
    (data / "pg_hba.conf").write_text(PG_HBA)
    _chown_to_service(data)


def start(config: StackConfig) -> int:
    """Start the cluster with pg_ctl and wait for it; returns the postmaster pid."""
    if port_open(config.pg_port):
        raise StackError(
            f"PostgreSQL: port {config.pg_port} on {LOOPBACK} is already in use by a process this stack did not "
            "start; stop it or choose another port (--pg-port)"
        )
    # The port may have changed since initdb; the last setting in postgresql.conf wins.
    with open(config.pg_data / "postgresql.conf", "a") as conf:
        conf.write(f"port = {config.pg_port}\n")
    config.logs_dir.mkdir(parents=True, exist_ok=True)
    log = config.logs_dir / "postgres.log"
    log.touch()
    _chown_to_service(log)
    run_checked(
        _as_service_user(
            [
                str(config.pg_bin / "pg_ctl"),
                "-D",
                str(config.pg_data),
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        f"starting PostgreSQL (see {log})",
    )
    pid = postmaster_pid(config)
    if pid is None:
        raise StackError(f"PostgreSQL started but wrote no postmaster.pid; see {log}")
    return pid


def postmaster_pid(config: StackConfig) -> int | None:
    try:
        return int((config.pg_data / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def dsn(config: StackConfig, user: str, password: str, database: str = APP_DATABASE) -> str:
    return f"postgresql://{user}:{password}@{LOOPBACK}:{config.pg_port}/{database}"


def bootstrap_database(config: StackConfig, superuser_password: str, app_password: str) -> str:
    """Create the application role and database and the timescaledb extension; returns the extension version."""
    import psycopg
    from psycopg import sql

    admin = dsn(config, SUPERUSER, superuser_password, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone()
        stmt = "ALTER ROLE {} LOGIN CREATEDB PASSWORD {}" if exists else "CREATE ROLE {} LOGIN CREATEDB PASSWORD {}"
        conn.execute(sql.SQL(stmt).format(sql.Identifier(APP_ROLE), sql.Literal(app_password)))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (APP_DATABASE,)).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(APP_DATABASE), sql.Identifier(APP_ROLE))
            )
    with psycopg.connect(dsn(config, SUPERUSER, superuser_password), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return str(row[0]) if row else ""


def wait_ready(config: StackConfig, app_password: str, timeout_s: float = READY_TIMEOUT_S) -> str:
    deadline = time.monotonic() + timeout_s
    last = "not answering"
    while time.monotonic() < deadline:
        ok, last = health(config, app_password)
        if ok:
            return last
        time.sleep(0.5)
    raise StackError(f"PostgreSQL not healthy after {timeout_s:.0f} s ({last}); see {config.logs_dir / 'postgres.log'}")


def health(config: StackConfig, app_password: str) -> tuple[bool, str]:
    """Connect as the application and read the timescaledb extension version."""
    import psycopg

    try:
        with psycopg.connect(dsn(config, APP_ROLE, app_password), connect_timeout=3) as conn:
            row = conn.execute(
                "SELECT extversion, current_setting('timescaledb.license', true) "
                "FROM pg_extension WHERE extname = 'timescaledb'"
            ).fetchone()
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}".strip()
    if row is None:
        return False, "connected, but the timescaledb extension is not created in the database"
    return True, f"timescaledb {row[0]} ({row[1]} edition)"


def stop(config: StackConfig, pid: int) -> bool:
    """Fast shutdown (SIGINT: roll back open transactions, checkpoint, exit) of the postmaster we started."""
    import signal

    if not pid_alive(pid, MARKER):
        return False
    return stop_pid(pid, MARKER, sig=signal.SIGINT, timeout_s=60.0)
