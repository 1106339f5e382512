"""Project-level views: health check and error pages that stay JSON under /api/."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from chatsite.health import channel_layer_status

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.warning("Health check: database is not answering", exc_info=True)
        return False
    finally:
        connection.close()
    return True


async def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the database answers; a channel-layer outage only degrades delivery (DESIGN.md)."""
    database_ok, layer = await asyncio.gather(
        sync_to_async(_database_ok, thread_sensitive=False)(),
        channel_layer_status(limit=settings.CHAT_LAYER_TIMEOUT),
    )
    body = {"database": "ok" if database_ok else "down", "channel_layer": layer}
    return JsonResponse(body, status=200 if database_ok else 503)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Permission denied.", "code": "permission_denied"}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Internal server error.", "code": "server_error"}, status=500)
    return defaults.server_error(request)
