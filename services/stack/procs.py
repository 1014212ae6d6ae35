"""Starting, finding and stopping the stack's own processes by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from services.stack.errors import StackError


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists; another user owns it
    return True


def pid_alive(pid: int | None, marker: str | None = None) -> bool:
    """True when `pid` runs and, if given, its command line contains `marker` (guards against pid reuse)."""
    if not pid or pid <= 0:
        return False
    if marker is None:
        return _exists(pid)
    if not running(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return marker in cmdline


def running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie, whatever its command line says.

    For a process this module has just started (no pid reuse possible yet): while it is in ``execve``, or while a
    launcher re-executes itself, ``/proc/<pid>/cmdline`` can briefly be empty or another program's, so a marker
    check would report a healthy start as an exit.
    """
    if not _exists(pid):
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(errors="replace")
    except OSError:
        return False
    return ") Z " not in stat


def start_detached(argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None) -> int:
    """Start a process in its own session, outliving this one, with stdout and stderr appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - argv is built by the stack, never from user input
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    return proc.pid


def stop_pid(pid: int, marker: str | None, *, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> bool:
    """Signal `pid`, wait for it to exit, and SIGKILL it after `timeout_s`. Returns False if it was not running."""
    if not pid_alive(pid, marker):
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid, marker):
            _reap(pid)
            return True
        _reap(pid)
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    _reap(pid)
    return True


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def port_open(port: int, host: str = "127.0.0.1", timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def run_checked(argv: Sequence[str], what: str, *, env: dict[str, str] | None = None, timeout_s: float = 600) -> str:
    """Run a setup command to completion; on failure raise a StackError that quotes its output."""
    try:
        done = subprocess.run(  # noqa: S603 - argv is built by the stack
            list(argv), capture_output=True, text=True, env=env, timeout=timeout_s, check=False
        )
    except FileNotFoundError as exc:
        raise StackError(f"{what}: {argv[0]} is not installed ({exc})") from exc
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"{what}: timed out after {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-25:]
        raise StackError(f"{what} failed (exit {done.returncode}):\n" + "\n".join(tail))
    return done.stdout
