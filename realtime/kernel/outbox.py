"""The process's queue of committed events on their way to sockets.

``submit`` may be called from any thread (database work runs in worker threads); it notes the commit
time, which travels with the event (the hub's inbox, the wire message's ``at``) so that the process
writing it to sockets can observe the delivery lag. When a hub runs on an event loop in this process,
events are handed to it with ``call_soon_threadsafe`` and the caller never waits for Redis. Otherwise (a
WSGI worker, a management command, a sync test) they go to the layer through the process's relay
(``realtime.kernel.relay``): one event loop for the process, each send bounded by CHAT_LAYER_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from realtime.kernel import relay
from realtime.kernel.events import EphemeralFrame, Event
from realtime.kernel.process import PROCESS_ID

Observer = Callable[[Event], None]
Sink = Callable[[Event, float], None]  # the event and its commit time (time.time())

_loop: asyncio.AbstractEventLoop | None = None
_sink: Sink | None = None
_observers: list[Observer] = []

HUB_MESSAGE_TYPE = "hub.event"


def wire_message(event: Event, committed_at: float | None = None) -> dict[str, Any]:
    """What the channel layer carries for ``event``: its wire dict, tagged with this process, whose
    hub skips its own echoes (it delivered them already), and with its commit time when known."""
    message = event.to_wire()
    message["type"] = HUB_MESSAGE_TYPE
    message["origin"] = PROCESS_ID
    if committed_at is not None:
        message["at"] = committed_at
    return message


def committed_time(message: Mapping[str, Any]) -> float | None:
    """The commit time a wire message carries (None when absent or not a plain finite number)."""
    value = message.get("at")
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def bind(loop: asyncio.AbstractEventLoop, sink: Sink) -> None:
    """Route submitted events to ``sink``, called on ``loop`` (the hub of this process)."""
    global _loop, _sink
    _loop, _sink = loop, sink


def unbind(loop: asyncio.AbstractEventLoop) -> None:
    global _loop, _sink
    if _loop is loop:
        _loop, _sink = None, None


def observe(observer: Observer) -> Callable[[], None]:
    """Also give every submitted event to ``observer`` (tests); return a function that stops it."""
    _observers.append(observer)
    return lambda: _observers.remove(observer)


def submit(event: Event) -> None:
    """Queue a committed event for delivery; never blocks on the channel layer when a hub runs."""
    committed_at = time.time()
    for observer in list(_observers):
        observer(event)
    loop, sink = _loop, _sink
    if loop is not None and sink is not None and loop.is_running() and not loop.is_closed():
        if _running_loop() is loop:
            sink(event, committed_at)
        else:
            loop.call_soon_threadsafe(sink, event, committed_at)
        return
    # A typing indicator is worthless late: it is not retried through an outage.
    relay.send(event.group, wire_message(event, committed_at), retry=not isinstance(event, EphemeralFrame))


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
