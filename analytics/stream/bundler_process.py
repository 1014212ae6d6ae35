"""The bundler in a child process of the worker, so it runs on another core than the agent.

The worker's main thread is the bottleneck at 5,000 patients: one Python thread does the agent, the producer's
sender and faust's bookkeeping, under one GIL. The bundler was about a sixth of the process's samples (aiokafka
unpacking every sensor record, bundling, producing; py-spy on the draining worker, 2026-11-23), and it shares
nothing with the agent but the Kafka topics, so it can run in its own process.

The child is this module run with the worker's settings as JSON arguments. It exits when the worker stops it
(SIGTERM: it commits what the broker acknowledged and leaves its group) and when the worker dies: the kernel sends
it SIGTERM then (``PR_SET_PDEATHSIG``), so a killed worker leaves no bundler behind. A child that dies on its own
is started again after a second; nothing is lost, as its uncommitted records are bundled again by the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys

from analytics.stream.bundler import Bundler
from analytics.stream.settings import WorkerSettings
from ingest.collector import collect_less_often
from ingest.kafka_config import KafkaSettings

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
RESTART_AFTER_S = 1.0


async def supervise(settings: WorkerSettings, kafka: KafkaSettings, *, source: str, dest: str) -> None:
    """Keep a bundler child running until cancelled; then stop it and wait for it to leave its group."""
    args = [settings.model_dump_json(), kafka.model_dump_json(), source, dest, str(os.getpid())]
    while True:
        child = await asyncio.create_subprocess_exec(sys.executable, "-m", __name__, *args)
        try:
            code = await child.wait()
        except asyncio.CancelledError:
            if child.returncode is None:
                child.terminate()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(child.wait()), settings.session_timeout_s)
                if child.returncode is None:
                    child.kill()
            raise
        log.error("bundler process %d exited with %s; starting another in %.0f s", child.pid, code, RESTART_AFTER_S)
        await asyncio.sleep(RESTART_AFTER_S)


def die_with_parent(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the request took effect
        sys.exit(0)


async def _run(bundler: Bundler) -> None:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await bundler.run()


def main(argv: list[str]) -> None:
    die_with_parent(int(argv[4]))
    settings = WorkerSettings.model_validate_json(argv[0])
    kafka = KafkaSettings.model_validate_json(argv[1])
    logging.basicConfig(level=settings.log_level.upper(), format="[bundler %(process)d] %(levelname)s %(message)s")
    collect_less_often(settings.gc_gen0_threshold)
    bundler = Bundler(settings, kafka, source=argv[2], dest=argv[3])
    if settings.event_loop == "uvloop":
        import uvloop

        uvloop.run(_run(bundler))
    else:
        asyncio.run(_run(bundler))


if __name__ == "__main__":
    main(sys.argv[1:])
