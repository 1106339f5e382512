"""The process's one subscription to the channel layer: groups joined while a socket here needs them,
events received once for every local socket, events forwarded to other processes in order, and the
recovery from an outage (groups re-joined, missed messages caught up from the database)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from channels.layers import BaseChannelLayer
from django.conf import settings

from core import metrics
from realtime.kernel import EphemeralFrame, Event, from_wire, groups
from realtime.kernel.events import UnknownEvent
from realtime.kernel.outbox import committed_time, wire_message
from realtime.kernel.process import PROCESS_ID

logger = logging.getLogger(__name__)

BACKLOG = 10_000  # events waiting for the layer before new ones are dropped (other processes catch up)


class LayerLink:
    """``layer`` None (no layer, or the in-memory one, which reaches no other process): groups are
    still tracked, and nothing is sent or received."""

    def __init__(
        self,
        layer: BaseChannelLayer | None,
        *,
        slots: asyncio.Semaphore,
        received: Callable[[Event, float | None], None],
        recovered: Callable[[], Awaitable[None]],
    ) -> None:
        self.layer = layer
        self.ok = True
        self.channel: str | None = None
        self.joined: set[str] = set()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._slots = slots  # redis-py raises when its pool is exhausted: wait for a slot instead
        self._outgoing: asyncio.Queue[tuple[Event, float | None]] = asyncio.Queue(maxsize=BACKLOG)
        self._received, self._recovered = received, recovered

    async def start(self, spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]) -> list[asyncio.Task[None]]:
        """Open the process's channel and join ``everyone``; return the receive and publish loops."""
        if self.layer is None:
            return []
        layer = self.layer
        # channels-redis names the channel after the prefix; the stub's base class takes none.
        self.channel = channel = await layer.new_channel("hub")  # type: ignore[call-arg]
        await self.join(groups.everyone())
        return [spawn(self._receive_loop(layer, channel)), spawn(self._publish_loop(layer))]

    async def stop(self) -> None:
        if self.layer is None or not self.channel:
            return
        for group in list(self.joined):
            try:
                await asyncio.wait_for(self.layer.group_discard(group, self.channel), settings.CHAT_LAYER_TIMEOUT)
            except Exception:
                logger.debug("Could not leave %s while stopping", group, exc_info=True)

    def forward(self, event: Event, committed_at: float | None = None) -> None:
        """Send an event committed here to the other processes (in order, retried through an outage)."""
        if self.layer is None:
            return
        try:
            self._outgoing.put_nowait((event, committed_at))
        except asyncio.QueueFull:
            logger.warning("Channel layer backlog full: dropping an event for other processes")

    async def join(self, group: str) -> None:
        self.joined.add(group)
        if self.layer is None or not self.channel:
            return
        # Joins and leaves of a group apply in call order and only while still wanted, so a leave
        # racing a new join can never strand this process outside a group it needs.
        async with self._locks[group]:
            if group in self.joined:
                await self.call(self.layer.group_add(group, self.channel))

    async def leave(self, group: str) -> None:
        self.joined.discard(group)
        if self.layer is None or not self.channel:
            return
        async with self._locks[group]:
            if group not in self.joined:
                await self.call(self.layer.group_discard(group, self.channel))
                self._locks.pop(group, None)

    async def call(self, call: Awaitable[None]) -> bool:
        """One layer call, bounded by CHAT_LAYER_TIMEOUT; False (and the outage noted) when it failed."""
        try:
            async with self._slots:
                await asyncio.wait_for(call, settings.CHAT_LAYER_TIMEOUT)
        except Exception:
            self._failed()
            return False
        return True

    def _failed(self) -> None:
        if self.ok:
            logger.warning("Channel layer unreachable: local delivery continues, other processes catch up later")
            metrics.LAYER_OUTAGES.labels(component="hub").inc()
        self.ok = False

    async def _receive_loop(self, layer: BaseChannelLayer, channel: str) -> None:
        backoff = 0.1
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._failed()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                await self.recover()
                continue
            backoff = 0.1
            if message.get("origin") == PROCESS_ID:
                continue  # delivered here when it was submitted
            try:
                self._received(from_wire(message), committed_time(message))
            except UnknownEvent:
                logger.warning("Ignoring an event this process does not know: %s", message.get("event"))

    async def recover(self) -> None:
        """Re-join every group (a restarted Redis forgot them, and memberships not renewed expire after
        CHAT_GROUP_EXPIRY) and catch up what was missed meanwhile."""
        if self.layer is None or not self.channel:
            return
        layer, channel = self.layer, self.channel
        joined = await asyncio.gather(*(self.call(layer.group_add(group, channel)) for group in self.joined))
        if not all(joined):
            return
        if not self.ok:
            logger.warning("Channel layer reachable again: groups re-joined, catching up from the database")
        self.ok = True
        await self._recovered()

    async def _publish_loop(self, layer: BaseChannelLayer) -> None:
        """Forward events to other processes in order, retrying through an outage: messages would also
        reach them from the database, but closes, edits, deletions and notifications only this way."""
        while True:
            event, committed_at = await self._outgoing.get()
            message = wire_message(event, committed_at)
            backoff = 0.05
            while not await self.call(layer.group_send(event.group, message)):
                if isinstance(event, EphemeralFrame):
                    break  # a typing indicator is worthless late
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
