"""The process's hub: one channel-layer subscription per process, fanning out to its local sockets.

A tutorial-style consumer joins groups itself, so every broadcast is read from the layer and
dispatched once per socket (a receive loop, a thread hop and a deserialization per recipient). Here
the process holds one layer channel, joins each group once (for as long as one of its sockets needs
it), receives each event once and hands the same pre-serialized frame to every local socket. Events
published in this process reach its own sockets without a round trip through Redis.

The hub also keeps delivery whole when the layer is not: room streams fill gaps from the database,
a periodic sync catches up rooms whose events were lost (a Redis restart, a dropped publish), groups
are re-joined on every heartbeat (a restarted Redis forgets them), and when the layer is down
messages are still stored and acknowledged, and delivered to this process's sockets.

The ``Hub`` composes the pieces and owns their lifecycle; each piece is a module of this package:
``registry`` (sockets), ``rooms`` and ``streams`` (room subscriptions, ordering, catch-up), ``link``
(the channel layer), ``presence_keeper``, ``unread``, ``router`` (event -> handler), ``delivery``.
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from core import metrics
from realtime import lookups, presence, wire_fence
from realtime.hub.link import LayerLink
from realtime.hub.presence_keeper import PresenceKeeper
from realtime.hub.registry import Socket, SocketRegistry
from realtime.hub.rooms import Rooms
from realtime.hub.router import Router
from realtime.hub.streams import RoomStream
from realtime.hub.unread import UnreadCounter
from realtime.kernel import Event, groups, outbox

logger = logging.getLogger(__name__)


class Hub:
    """This process's sockets, its subscription to the channel layer, and the background work."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        layer = get_channel_layer()
        # The in-memory layer reaches no other process; local delivery already covers this one.
        remote = None if layer is None or isinstance(layer, InMemoryChannelLayer) else layer
        slots = asyncio.Semaphore(settings.CHAT_REDIS_CONCURRENCY)  # Redis calls of the layer and presence
        self.registry = SocketRegistry()
        self.link = LayerLink(remote, slots=slots, received=self._received, recovered=self._recovered)
        self.rooms = Rooms(join=self.link.join, leave=self.link.leave, on_message=self._message_landed)
        self.unread = UnreadCounter(rooms=self.rooms, registry=self.registry)
        self.presence = PresenceKeeper(presence.get_backend(), slots=slots)
        self.router = Router(registry=self.registry, rooms=self.rooms, unread=self.unread, spawn=loop.create_task)
        # (event, its commit time when known, "local" or "remote")
        self.inbox: asyncio.Queue[tuple[Event, float | None, str]] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []

    # --- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        wire_fence.fast_path()  # checked (and logged) once per process, before any socket opens
        outbox.bind(self.loop, self.submit)
        spawn = self.loop.create_task
        self.tasks = [
            spawn(self._deliver_loop()),
            spawn(self.presence.run(after_beat=self.link.recover)),
            spawn(self.rooms.run_sync()),
            spawn(self.unread.run()),
        ]
        self.tasks += await self.link.start(spawn)

    async def stop(self) -> None:
        outbox.unbind(self.loop)
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            _done, stuck = await asyncio.wait(self.tasks, timeout=settings.CHAT_LAYER_TIMEOUT)
            for task in stuck:
                logger.warning("Hub task %s did not stop", task.get_coro())
        # A cancelled await leaves its database call running in the sync thread; wait for it.
        await database_sync_to_async(lookups.nothing)()
        await self.link.stop()
        try:
            await asyncio.wait_for(self.presence.close(), settings.CHAT_LAYER_TIMEOUT)
        except Exception:
            logger.debug("Could not close the presence store", exc_info=True)

    # --- sockets (what consumers call) ----------------------------------------------------------------

    async def admit(self, socket: Socket) -> bool:
        """Count a new socket against the caps before it subscribes to anything (False: over a cap)."""
        return await self.presence.admit(socket)

    async def register(self, socket: Socket) -> None:
        """Deliver to an admitted socket from now on: subscribe to its user's group; announce a first socket."""
        if self.registry.add(socket):
            await self.link.join(groups.user(socket.user_id))
        self.presence.registered(socket)

    async def unregister(self, socket: Socket) -> None:
        """Forget a socket: its rooms always (even if it failed while opening), presence if admitted."""
        await self.rooms.forget(socket)
        if self.registry.remove(socket):
            await self.link.leave(groups.user(socket.user_id))
        await self.presence.release(socket)

    async def follow(self, socket: Socket, *, room_id: int, slug: str) -> int:
        """Subscribe ``socket`` to a room; return the seq after which live delivery starts."""
        return await self.rooms.follow(socket, room_id=room_id, slug=slug)

    async def watch(self, socket: Socket, rooms: dict[int, str]) -> None:
        """Count unread messages of ``rooms`` (id -> slug) for a notification socket."""
        await self.rooms.watch(socket, rooms)

    # --- events --------------------------------------------------------------------------------------

    def submit(self, event: Event, committed_at: float | None = None) -> None:
        """An event committed in this process (called on the loop): local delivery now, others via the layer."""
        self.inbox.put_nowait((event, committed_at, "local"))
        self.link.forward(event, committed_at)

    def _received(self, event: Event, committed_at: float | None) -> None:
        self.inbox.put_nowait((event, committed_at, "remote"))

    async def _deliver_loop(self) -> None:
        while True:
            event, committed_at, source = await self.inbox.get()
            metrics.HUB_EVENTS.labels(event=event.NAME, source=source).inc()
            try:
                await self.router.route(event, committed_at)
            except Exception:
                logger.exception("Failed to route an event to local sockets")

    def _message_landed(self, stream: RoomStream) -> None:
        self.unread.mark(stream.room_id)

    async def _recovered(self) -> None:
        await self.rooms.sync()
