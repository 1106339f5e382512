"""One pre-serialized frame to many sockets: the fast path when it can, the socket's queue otherwise.

Under daphne (and with ``realtime.wire``'s fence passed) the frame is framed once and written to each
connection directly; a reader whose unsent bytes pass CHAT_SLOW_READER_LIMIT is closed instead of
growing memory. A socket without a direct connection (another server, a middleware wrapping ``send``,
back_chat's reshaped frames) gets the frame in its own bounded queue, so a slow one never holds up
the others. Nothing here awaits, allocates or encodes per recipient.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core import metrics
from realtime import wire
from realtime.hub.registry import Socket

logger = logging.getLogger(__name__)


@dataclass
class SendCounters:
    """Broadcast frames handed to sockets since the process started (the metrics issue exports them)."""

    fast_path: int = 0  # written straight to a daphne connection (realtime.wire)
    fallback: int = 0  # queued for the socket's ASGI send


COUNTERS = SendCounters()


def deliver_all(sockets: Collection[Socket], frame: str, committed_at: float | None = None) -> None:
    """Hand ``frame`` to each socket; one failing socket never stops the others. ``committed_at`` (the
    wall-clock time its event was committed, when known) is observed as the delivery lag."""
    prepared: Any = None
    limit = settings.CHAT_SLOW_READER_LIMIT
    queued = missed = 0
    recipients = tuple(sockets)
    for socket in recipients:
        try:
            protocol = socket.direct()
            if protocol is None:
                socket.deliver(frame)
                queued += 1
                continue
            if not wire.is_open(protocol):
                missed += 1
                continue
            if prepared is None:
                prepared = wire.prepare(protocol, frame)
            wire.send_prepared(protocol, prepared)
            if wire.buffered_bytes(protocol) > limit:
                socket.too_slow()
        except Exception:
            missed += 1
            logger.debug("Delivery to a closing socket failed", exc_info=True)
    # Counted once per broadcast, not per recipient: the loop above is the hot path.
    if direct := len(recipients) - queued - missed:
        if not COUNTERS.fast_path:
            logger.info("Fast path in use: a broadcast was written directly to %d daphne connections", direct)
        COUNTERS.fast_path += direct
        metrics.FAST_PATH.inc(direct)
    if queued:
        if not COUNTERS.fallback:
            logger.info("ASGI path in use: a broadcast was queued for %d sockets' ASGI send", queued)
        COUNTERS.fallback += queued
        metrics.FALLBACK.inc(queued)
    if committed_at is not None and (direct or queued):
        # Wall clocks of two processes (or hosts): a clock step backwards must not record a negative lag.
        metrics.DELIVERY_LAG.observe(max(0.0, time.time() - committed_at))
