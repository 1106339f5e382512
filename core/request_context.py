"""What a log line or a metric knows about the request or socket it came from.

``RequestContextMiddleware`` (outermost) gives every HTTP request an id: the client's ``X-Request-ID``
when it is sane (a proxy or a client that already set one, so lines across services match), otherwise a
new one; it is echoed in the response, and every log line written while the request runs carries it
(``ContextFilter``; asgiref copies the context into the threads that run sync code). The same middleware
counts the request in ``chat_http_requests_total`` and ``chat_http_request_duration_seconds`` by view (the
route's name, never the raw path, so the label set stays bounded) and, with ``CHAT_REQUEST_LOG``, writes
one ``chat.access`` line per request. Sockets set ``connection_id`` for their whole life.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponseBase

from core import metrics
from core.log_filters import redact

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
connection_id: ContextVar[str | None] = ContextVar("connection_id", default=None)

HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
UNMATCHED = "unmatched"  # no route: a 404, or answered by a middleware before routing
STATIC = "static"  # served by WhiteNoise before routing

access_log = logging.getLogger("chat.access")


def new_id() -> str:
    return uuid.uuid4().hex


def incoming_id(value: str | None) -> str:
    """The client's id when it is short and plain (it is written to logs verbatim), else a new one."""
    return value if value is not None and _SANE_ID.fullmatch(value) else new_id()


def view_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name:
        return str(match.view_name)
    if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return STATIC
    return UNMATCHED


class ContextFilter(logging.Filter):
    """Put the current request's and socket's ids on every record (None outside them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request, connection = request_id.get(), connection_id.get()
        ids = [f"req={request}"] if request else []
        if connection:
            ids.append(f"conn={connection}")
        context = f"[{' '.join(ids)}] " if ids else ""
        record.__dict__.update(request_id=request, connection_id=connection, context=context)
        return True


Handler = Callable[[HttpRequest], Any]


class RequestContextMiddleware:
    """Request id, HTTP metrics and the optional access line; sync under WSGI, async under ASGI, so it
    never adds a thread hop."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    # The id stays set after the middleware returns: Django logs a 4xx/5xx answer ("django.request")
    # once the whole chain is done. The next request sets its own, and request_finished clears it.
    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        rid = incoming_id(request.headers.get(HEADER))
        request_id.set(rid)
        started = time.perf_counter()
        return self._finish(request, self.get_response(request), started, rid)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        rid = incoming_id(request.headers.get(HEADER))
        request_id.set(rid)
        started = time.perf_counter()
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        return self._finish(request, await get_response(request), started, rid)

    def _finish(self, request: HttpRequest, response: HttpResponseBase, started: float, rid: str) -> HttpResponseBase:
        elapsed = time.perf_counter() - started
        response[HEADER] = rid
        view, method = view_label(request), metrics.method_label(request.method)
        metrics.HTTP_REQUESTS.labels(view=view, method=method, status=str(response.status_code)).inc()
        metrics.HTTP_DURATION.labels(view=view, method=method).observe(elapsed)
        if settings.CHAT_REQUEST_LOG:
            _log_access(request, response, view, elapsed)
        return response


def _forget_request_id(**kwargs: Any) -> None:
    request_id.set(None)


request_finished.connect(_forget_request_id, dispatch_uid="core.request_context.forget_request_id")


def _log_access(request: HttpRequest, response: HttpResponseBase, view: str, elapsed: float) -> None:
    """One line per request; the path without its query string (tokens travel there), redacted anyway."""
    path = redact(request.path)
    fields = {"method": request.method, "path": path, "view": view, "status": response.status_code}
    access_log.info(
        "%s %s %s %.1fms",
        request.method,
        path,
        response.status_code,
        elapsed * 1000,
        extra={**fields, "duration_ms": round(elapsed * 1000, 3), "client": request.META.get("REMOTE_ADDR")},
    )
