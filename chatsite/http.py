"""HTTP under daphne: Django's ASGI handler, with database connections closed after each request.

SQLite keeps its connection open (CONN_MAX_AGE=None) because the sockets' database work runs on one
long-lived thread where reconnecting per query is the dominant cost. Django's ASGI handler, however,
runs each HTTP request on a thread of its own, so a connection opened there would only be reclaimed by
the garbage collector; closing it when the request finishes keeps the file descriptors bounded.

(Serving HTTP through asgiref's WsgiToAsgi on the single sync thread doubled REST throughput but
failed under concurrent requests with "CurrentThreadExecutor already quit or is broken"; see README,
"Performance".)
"""

from __future__ import annotations

from typing import Any

from django.core.asgi import get_asgi_application
from django.core.signals import request_finished
from django.db import connections


def close_request_connections(**kwargs: Any) -> None:
    """Close this thread's database connections (the request's thread is about to go away)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def http_application() -> Any:
    request_finished.connect(close_request_connections, dispatch_uid="chatsite.close_request_connections")
    return get_asgi_application()
