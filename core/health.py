"""``/healthz``: checks of the services a replica depends on, each bounded by a timeout.

The answer is kept for ``CHAT_HEALTH_CACHE_SECONDS`` in each process: load balancers, compose and
monitoring probe every replica every few seconds, and a flood of probes must not become a flood of
database queries and Redis connections (each probe opens one). A stale answer is at most that old.
"""

from __future__ import annotations

import asyncio
import logging
import time

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


# (monotonic time of the probe, body, status) of this process's last probe.
_last_probe: tuple[float, dict[str, str], int] | None = None


def forget_last_probe() -> None:
    """Probe again on the next request (tests, and after a setting changes)."""
    global _last_probe
    _last_probe = None


async def _probe() -> tuple[dict[str, str], int]:
    database_ok, layer = await asyncio.gather(
        sync_to_async(_database_ok, thread_sensitive=False)(),
        channel_layer_status(limit=settings.CHAT_LAYER_TIMEOUT),
    )
    body = {"database": "ok" if database_ok else "down", "channel_layer": layer, "version": settings.CHAT_VERSION}
    return body, 200 if database_ok else 503


async def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the database answers; a channel-layer outage only degrades delivery (DESIGN.md). ``version``
    (back_chat's ``/api/health`` had it) is the release (CHAT_VERSION, by default pyproject.toml's)."""
    global _last_probe
    now = time.monotonic()
    if _last_probe is None or now - _last_probe[0] >= settings.CHAT_HEALTH_CACHE_SECONDS:
        body, status = await _probe()
        _last_probe = (now, body, status)
    _, body, status = _last_probe
    return JsonResponse(body, status=status)
