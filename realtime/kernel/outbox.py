"""The process's queue of committed events on their way to sockets.

``submit`` may be called from any thread (database work runs in worker threads). When a hub runs on an
event loop in this process, events are handed to it with ``call_soon_threadsafe`` and the caller never
waits for Redis; otherwise (management commands, sync tests) the event goes to the layer directly,
bounded by CHAT_LAYER_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from realtime.kernel.events import Event
from realtime.kernel.process import PROCESS_ID

logger = logging.getLogger(__name__)

Sink = Callable[[Event], None]

_loop: asyncio.AbstractEventLoop | None = None
_sink: Sink | None = None
_observers: list[Sink] = []

HUB_MESSAGE_TYPE = "hub.event"


def wire_message(event: Event) -> dict[str, Any]:
    """What the channel layer carries for ``event``: its wire dict, tagged with this process, whose
    hub skips its own echoes (it delivered them already)."""
    message = event.to_wire()
    message["type"] = HUB_MESSAGE_TYPE
    message["origin"] = PROCESS_ID
    return message


def bind(loop: asyncio.AbstractEventLoop, sink: Sink) -> None:
    """Route submitted events to ``sink``, called on ``loop`` (the hub of this process)."""
    global _loop, _sink
    _loop, _sink = loop, sink


def unbind(loop: asyncio.AbstractEventLoop) -> None:
    global _loop, _sink
    if _loop is loop:
        _loop, _sink = None, None


def observe(observer: Sink) -> Callable[[], None]:
    """Also give every submitted event to ``observer`` (tests); return a function that stops it."""
    _observers.append(observer)
    return lambda: _observers.remove(observer)


def submit(event: Event) -> None:
    """Queue a committed event for delivery; never blocks on the channel layer when a hub runs."""
    for observer in list(_observers):
        observer(event)
    loop, sink = _loop, _sink
    if loop is not None and sink is not None and loop.is_running() and not loop.is_closed():
        if _running_loop() is loop:
            sink(event)
        else:
            loop.call_soon_threadsafe(sink, event)
        return
    _send_directly(event)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _send_directly(event: Event) -> None:
    layer = get_channel_layer()
    if layer is None or isinstance(layer, InMemoryChannelLayer):
        return  # an in-memory layer only reaches this process, and no hub listens here

    async def send() -> None:
        await asyncio.wait_for(layer.group_send(event.group, wire_message(event)), settings.CHAT_LAYER_TIMEOUT)

    try:
        async_to_sync(send)()
    except Exception:
        # Stored state is the source of truth; sockets catch up from it (last_seq, hub gap filling).
        logger.warning("Could not publish %s to the channel layer", event.group, exc_info=True)
