"""``/healthz``: checks of the services a replica depends on, each bounded by a timeout."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)


async def channel_layer_status(*, limit: float) -> str:
    """Return ``"ok"`` when the channel layer's backing store answers within ``limit`` seconds, else ``"down"``."""
    if not settings.REDIS_URL:
        return "ok"  # the in-memory layer lives in this process
    import redis.asyncio as aioredis

    client = aioredis.from_url(settings.REDIS_URL, socket_connect_timeout=limit, socket_timeout=limit)
    try:
        await asyncio.wait_for(client.ping(), limit)
    except Exception:
        logger.warning("Health check: Redis is not answering", exc_info=True)
        return "down"
    finally:
        await client.aclose()
    return "ok"


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
    """200 while the database answers; a channel-layer outage only degrades delivery (DESIGN.md). ``version``
    (back_chat's ``/api/health`` had it) is the release (CHAT_VERSION, by default pyproject.toml's)."""
    database_ok, layer = await asyncio.gather(
        sync_to_async(_database_ok, thread_sensitive=False)(),
        channel_layer_status(limit=settings.CHAT_LAYER_TIMEOUT),
    )
    body = {"database": "ok" if database_ok else "down", "channel_layer": layer, "version": settings.CHAT_VERSION}
    return JsonResponse(body, status=200 if database_ok else 503)
