"""Checks of the services a replica depends on, each bounded by a timeout."""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings

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
