"""One worker: django-q2's processes plus a loop that releases due delayed jobs and reports health.

Started by ``manage.py jobs_worker``, either by hand (the scaled deployment, any number of them) or by
the server (``chatsite.serve`` with CHAT_JOBS_WORKER=embedded), which passes its pid: the worker stops
when that process is gone, even after a kill -9, so ``make run`` never leaves a worker behind.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
from pathlib import Path

from django import db
from django.conf import settings

from jobs import engine

logger = logging.getLogger("jobs")

PR_SET_PDEATHSIG = 1


def run(*, parent_pid: int | None = None, heartbeat: Path | None = None) -> None:
    """Run until SIGTERM/SIGINT (or the parent's end): finish the running jobs, then return."""
    if parent_pid is not None:
        # Linux tells us at once when the parent dies; the loop below checks too, on every system.
        _die_with_parent(signal.SIGTERM)
        if os.getppid() != parent_pid:
            return
    # Every process this worker forks (django-q2's sentinel, which forks the job processes) dies with
    # its parent: a worker killed with kill -9 leaves no orphan running jobs without supervision; its
    # unfinished jobs are redelivered after CHAT_JOBS_REDELIVER_AFTER.
    os.register_at_fork(after_in_child=lambda: _die_with_parent(signal.SIGKILL))
    _without_connection_pool()
    db.connections.close_all()  # never share a connection with the forked processes
    cluster = engine.start_cluster()
    logger.warning(
        "jobs worker started (pid %d, %d job processes, CHAT_JOBS_WORKER=%s)",
        os.getpid(),
        settings.CHAT_JOBS_CONCURRENCY,
        settings.CHAT_JOBS_WORKER,
    )
    try:
        while engine.cluster_alive(cluster) and (parent_pid is None or os.getppid() == parent_pid):
            _tick(heartbeat)
            time.sleep(settings.CHAT_JOBS_SCHEDULE_INTERVAL)
    finally:
        if engine.cluster_alive(cluster):
            cluster.stop()
        logger.warning("jobs worker %d stopped", os.getpid())


def _without_connection_pool() -> None:
    """Give this worker plain, long-lived connections instead of psycopg's pool (DATABASE_POOL): a pool
    is copied into every forked process with its open connections, and two processes talking over one
    connection corrupt it ("the last operation didn't produce records")."""
    for alias in db.connections:
        connection = db.connections[alias]
        if not connection.settings_dict.get("OPTIONS", {}).get("pool"):
            continue
        connection.close()
        connection.close_pool()  # type: ignore[attr-defined]  # PostgreSQL's; created unopened when absent
        del connection.settings_dict["OPTIONS"]["pool"]
        connection.settings_dict["CONN_MAX_AGE"] = 600
        connection.settings_dict["CONN_HEALTH_CHECKS"] = True


def _tick(heartbeat: Path | None) -> None:
    try:
        engine.release_due()
    except db.Error:
        logger.warning("Could not look for due jobs", exc_info=True)
        return  # no heartbeat: a worker that cannot reach the database is not healthy
    finally:
        db.close_old_connections()
    if heartbeat is not None:
        heartbeat.touch()


def _die_with_parent(sig: int) -> None:
    """Ask Linux to send ``sig`` to this process when its parent dies (a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        logger.debug("prctl(PR_SET_PDEATHSIG) is not available")
