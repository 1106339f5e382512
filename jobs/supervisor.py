"""The embedded worker: the server process starts one ``jobs_worker`` and keeps it running.

``python -m chatsite.serve`` (what ``make run`` runs) uses this when CHAT_JOBS_WORKER=embedded, the
default, so a single command serves the chat and runs its background jobs. The worker is restarted if
it dies, asked to stop (SIGTERM: it finishes its running jobs) when the server exits, killed after
GRACE seconds; and it stops on its own if the server is killed without a chance to stop it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

logger = logging.getLogger("jobs")

BASE_DIR = Path(__file__).resolve().parent.parent
GRACE = 10.0  # seconds a stopping worker gets to finish its jobs; unfinished ones run again later
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)


class EmbeddedWorker:
    """Runs ``manage.py jobs_worker --parent-pid <this pid>`` and restarts it when it exits."""

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or [
            sys.executable,
            str(BASE_DIR / "manage.py"),
            "jobs_worker",
            "--parent-pid",
            str(os.getpid()),
        ]
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # The thread that starts the worker must outlive it: Linux's parent-death signal follows the thread.
        self._thread = threading.Thread(target=self._supervise, name="jobs-worker-supervisor", daemon=True)

    def start(self) -> EmbeddedWorker:
        self._thread.start()
        return self

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def stop(self, grace: float = GRACE) -> None:
        """Stop the worker (SIGTERM, then SIGKILL after ``grace`` seconds) and stop restarting it."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._thread.join(grace)

    def _supervise(self) -> None:
        failures = 0
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                self._process = subprocess.Popen(self.command, cwd=BASE_DIR)  # noqa: S603 (our own command)
            code = self._process.wait()
            if self._stopping.is_set():
                return
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
            failures += 1
            logger.error("The jobs worker exited with code %s; starting another in %.0fs", code, delay)
            if self._stopping.wait(delay):
                return


def start_embedded_worker() -> EmbeddedWorker | None:
    """Start the embedded worker when CHAT_JOBS_WORKER=embedded (the default), else do nothing."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    from django.conf import settings

    if settings.CHAT_JOBS_WORKER != "embedded":
        return None
    return EmbeddedWorker().start()
