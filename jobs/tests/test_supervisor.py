"""The embedded worker's supervision: restarted when it dies, stopped (TERM, then KILL) with the server."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from jobs import supervisor
from realtime.tests.e2e import wait_until

SLEEPER = "import time; time.sleep(60)"
# Notes SIGTERM in a file, then exits as a worker finishing its jobs would.
GRACEFUL = (
    "import signal, sys, time, pathlib\n"
    "def stop(*_):\n"
    "    pathlib.Path(sys.argv[1]).write_text('terminated')\n"
    "    sys.exit(0)\n"
    "signal.signal(signal.SIGTERM, stop)\n"
    "pathlib.Path(sys.argv[1]).write_text('ready')\n"
    "time.sleep(60)\n"
)
STUBBORN = (
    "import signal, sys, time, pathlib\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "pathlib.Path(sys.argv[1]).write_text('ready')\n"
    "time.sleep(60)\n"
)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); it has exited all the same.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1].startswith("Z")


@pytest.fixture
def quick_restarts(monkeypatch):
    monkeypatch.setattr(supervisor, "RESTART_DELAYS", (0.05,))


def test_a_worker_that_dies_is_started_again(quick_restarts):
    worker = supervisor.EmbeddedWorker([sys.executable, "-c", SLEEPER]).start()
    try:
        wait_until(lambda: worker.pid is not None, timeout=10, what="the worker to start")
        first = worker.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)

        wait_until(lambda: worker.pid not in (None, first), timeout=10, what="a new worker")
    finally:
        worker.stop(grace=5)
    assert worker.pid is None


def test_stopping_asks_the_worker_to_finish_then_stops_restarting(tmp_path, quick_restarts):
    note = tmp_path / "note"
    worker = supervisor.EmbeddedWorker([sys.executable, "-c", GRACEFUL, str(note)]).start()
    wait_until(lambda: note.exists(), timeout=10, what="the worker to start")
    pid = worker.pid
    assert pid is not None

    worker.stop(grace=5)

    assert note.read_text() == "terminated"
    assert gone(pid)
    assert worker.pid is None


def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path, quick_restarts):
    note = tmp_path / "note"
    worker = supervisor.EmbeddedWorker([sys.executable, "-c", STUBBORN, str(note)]).start()
    wait_until(lambda: note.exists(), timeout=10, what="the worker to start")
    pid = worker.pid
    assert pid is not None

    worker.stop(grace=0.5)

    assert gone(pid)


def test_the_server_starts_a_worker_only_when_embedded(settings, monkeypatch):
    started: list[supervisor.EmbeddedWorker] = []

    def start(self: supervisor.EmbeddedWorker) -> supervisor.EmbeddedWorker:
        started.append(self)
        return self

    monkeypatch.setattr(supervisor.EmbeddedWorker, "start", start)

    settings.CHAT_JOBS_WORKER = "external"
    assert supervisor.start_embedded_worker() is None
    settings.CHAT_JOBS_WORKER = "embedded"
    worker = supervisor.start_embedded_worker()

    assert started == [worker]
    assert worker is not None
    assert worker.command[-3:] == ["jobs_worker", "--parent-pid", str(os.getpid())]
