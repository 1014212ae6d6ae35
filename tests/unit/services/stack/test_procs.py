"""Process liveness as the stack sees it while starting and stopping its servers."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from services.stack.procs import pid_alive, running


def test_running_follows_the_process_not_its_command_line() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert running(proc.pid)
        # A marker that is not (or not yet) in the command line: pid_alive says no, running still says yes.
        assert not pid_alive(proc.pid, "kafka.Kafka")
        assert running(proc.pid)
        proc.kill()
        deadline = time.monotonic() + 10
        while running(proc.pid):  # exited but not reaped yet: a zombie is not running
            assert time.monotonic() < deadline, "a killed child still counts as running"
            time.sleep(0.01)
        assert os.path.exists(f"/proc/{proc.pid}"), "still a zombie until reaped"
    finally:
        proc.kill()
        proc.wait()
    assert not running(proc.pid)
