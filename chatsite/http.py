"""How HTTP requests reach Django under daphne: through Django's WSGI handler, one thread hop each.

Django's ASGI handler runs every request in a new thread-sensitive context (a new thread, so a new
database connection: for SQLite, a connect and its PRAGMAs per request) and adapts each sync
middleware with its own thread hop. Our views and middleware are all synchronous, so the whole
request runs on the sync thread in one hop instead, keeping its database connection, the same thread
the sockets' database work uses. Measured on our 2-core machine: GET history 51 -> 103 requests/s,
POST 109 -> 185 (README, "Performance"). Async views (the health check, which must not block that
thread while it waits for Redis) keep Django's ASGI path.
"""

from __future__ import annotations

from typing import Any

from asgiref.wsgi import WsgiToAsgi
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

ASYNC_PATHS = frozenset({"/healthz"})


class HttpApplication:
    """Dispatch HTTP scopes: async views to Django's ASGI handler, everything else to its WSGI handler."""

    def __init__(self) -> None:
        self.asgi = get_asgi_application()
        self.wsgi = WsgiToAsgi(get_wsgi_application())

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        handler = self.asgi if scope.get("path") in ASYNC_PATHS else self.wsgi
        return await handler(scope, receive, send)
