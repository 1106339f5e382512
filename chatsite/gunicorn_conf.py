"""gunicorn's configuration for the HTTP worker pool of the scaled deployment (README "Deployment").

    gunicorn -c python:chatsite.gunicorn_conf chatsite.wsgi:application

Sync workers, one request each at a time: measured against daphne and gunicorn with uvicorn's ASGI
worker on one core (README "Deployment", bench/http_servers.py), they served the history page and POSTs
fastest, and Django's ORM is synchronous anyway. Slow clients cannot tie them up: nginx reads every
request whole (bodies up to its limit) before it passes it on, and buffers answers.

Metrics: with PROMETHEUS_MULTIPROC_DIR set, every worker writes its values there and any worker answers
``/metrics`` for all of them; the arbiter empties the directory of dead processes' files when it starts,
and marks a worker dead when it exits (its live gauges stop counting, its counters stay).
"""

from __future__ import annotations

import os
from typing import Any

from core import metrics
from core.env import env_duration, env_int, env_str

bind = [env_str("CHAT_HTTP_BIND", "127.0.0.1:8001")]
# Sync workers: as many requests at once as workers. Each holds a database pool of its own.
workers = env_int("CHAT_HTTP_WORKERS", 2 * (os.cpu_count() or 1) + 1, minimum=1)
worker_class = "sync"
# A worker silent for longer (a request stuck in a view) is killed and replaced.
timeout = env_duration("CHAT_HTTP_TIMEOUT", 60)
# On SIGTERM, requests in flight get this long to finish (CHAT_SHUTDOWN_TIMEOUT, as daphne has).
graceful_timeout = env_duration("CHAT_SHUTDOWN_TIMEOUT", 10)
# Workers are never recycled (max_requests): each one's metric files would stay behind.
max_requests = 0
# Request line and headers as gunicorn bounds them by default, named here so they are not loosened.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# The heartbeat file of each worker, in memory where there is a /dev/shm (containers).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# Django logs each request itself (CHAT_REQUEST_LOG): its line carries the request id.
accesslog = None
errorlog = "-"
proc_name = "chat-http"


def on_starting(server: Any) -> None:
    dead = metrics.prepare_directory()
    if dead:
        server.log.info("Removed the metric files of %d processes that are gone", len(dead))


def child_exit(server: Any, worker: Any) -> None:
    metrics.mark_dead(worker.pid)
