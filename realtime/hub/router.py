"""What the hub does with each kind of event: one handler per event class, found in a dict.

A new event type gets its class in ``realtime.kernel.events`` and its handler here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Coroutine
from typing import Any, TypeVar

from messaging import events
from realtime import lookups
from realtime.hub.delivery import deliver_all
from realtime.hub.registry import Socket, SocketRegistry
from realtime.hub.rooms import Rooms
from realtime.hub.unread import UnreadCounter
from realtime.kernel import (
    CloseRoomSockets,
    CloseTokenSockets,
    CloseUserSockets,
    EphemeralFrame,
    Event,
    EveryoneFrame,
    RoomFrame,
    TrackRoom,
    UnreadChanged,
    UserFrame,
    encode,
)

logger = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], Awaitable[None]]
Spawn = Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]


class Router:
    def __init__(self, *, registry: SocketRegistry, rooms: Rooms, unread: UnreadCounter, spawn: Spawn) -> None:
        self.registry, self.rooms, self.unread = registry, rooms, unread
        self._spawn = spawn
        self._handlers: dict[type[Event], Handler] = {}
        # The commit time of the event being routed (None: unknown), for the deliveries of its handler:
        # the hub routes one event at a time.
        self.committed_at: float | None = None
        self._on(RoomFrame, self._room_frame)
        self._on(EphemeralFrame, self._ephemeral_frame)
        self._on(UserFrame, self._user_frame)
        self._on(EveryoneFrame, self._everyone_frame)
        self._on(CloseUserSockets, self._close_user_sockets)
        self._on(CloseRoomSockets, self._close_room_sockets)
        self._on(CloseTokenSockets, self._close_token_sockets)
        self._on(UnreadChanged, self._unread_changed)
        self._on(TrackRoom, self._track_room)

    def _on(self, event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
        self._handlers[event_type] = handler

    async def route(self, event: Event, committed_at: float | None = None) -> None:
        """Deliver an event to this process's sockets (or act on it); ``committed_at``: when it was
        committed (wall clock), for the delivery lag."""
        handler = self._handlers.get(type(event))
        if handler is None:
            logger.warning("No handler for %s events", type(event).__name__)
            return
        self.committed_at = committed_at
        try:
            await handler(event)
        finally:
            self.committed_at = None

    async def _room_frame(self, event: RoomFrame) -> None:
        self.rooms.offer(event.room_id, event.seq, event.frame, self.committed_at)
        if event.changes_unread:
            self.unread.mark(event.room_id)

    async def _ephemeral_frame(self, event: EphemeralFrame) -> None:
        self.rooms.offer(event.room_id, None, event.frame, self.committed_at)

    async def _user_frame(self, event: UserFrame) -> None:
        deliver_all(self.registry.of_user(event.user_id, event.kind), event.frame, self.committed_at)

    async def _everyone_frame(self, event: EveryoneFrame) -> None:
        sockets: Collection[Socket] = self.registry.of_kind(event.kind)
        if event.except_users:
            skipped = set(event.except_users)
            sockets = [socket for socket in sockets if socket.user_id not in skipped]
        deliver_all(sockets, event.frame, self.committed_at)
        if event.kind == "notifications":
            for socket in [s for s in self.registry.overhearing if s.user_id not in event.except_users]:
                try:
                    socket.overhear(event.frame)  # type: ignore[attr-defined]  # only sockets that define it overhear
                except Exception:
                    logger.exception("Could not hand a frame to an overhearing socket")
        if event.changes_unread:
            self.unread.mark_all()

    async def _close_user_sockets(self, event: CloseUserSockets) -> None:
        if event.room_id is not None:
            lookups.forget_rooms()  # a ban: a public room's cached entry must not let them back in
        await self._close(self.registry.of_user(event.user_id), event.code, event.room_id)

    async def _close_token_sockets(self, event: CloseTokenSockets) -> None:
        signed_in = [s for s in self.registry.of_user(event.user_id) if getattr(s, "token_id", None) == event.token_id]
        await self._close(signed_in, event.code, None)

    async def _close_room_sockets(self, event: CloseRoomSockets) -> None:
        await self._close(self.registry.sockets, event.code, event.room_id)

    async def _close(self, sockets: Collection[Socket], code: int, room_id: int | None) -> None:
        """Close ``sockets``; with ``room_id``, only those following that room, and notification sockets
        stop counting it (the user may no longer read it)."""
        for socket in list(sockets):
            if room_id is None or (socket.kind == "messages" and socket.room_id == room_id):
                await socket.close_with(code)
            elif socket.kind == "notifications":
                await self.rooms.unsubscribe(socket, room_id)

    async def _unread_changed(self, event: UnreadChanged) -> None:
        sockets = self.registry.of_user(event.user_id, "notifications")
        deliver_all(sockets, encode(events.unread(room_slug=event.room_slug, count=event.count)))
        self.unread.reset(sockets, room_id=event.room_id, count=event.count)

    async def _track_room(self, event: TrackRoom) -> None:
        # Subscribing reads the database: keep it off the delivery loop.
        self._spawn(self._start_counting(event))

    async def _start_counting(self, event: TrackRoom) -> None:
        """Count a room the user just joined on their notification sockets, from its count now."""
        sockets = list(self.registry.of_user(event.user_id, "notifications"))
        if not sockets:
            return
        try:
            for socket in sockets:
                await self.rooms.watch(socket, {event.room_id: event.room_slug})
        except Exception:
            logger.warning("Could not start counting unread messages of room %s", event.room_id, exc_info=True)
            return
        self.unread.mark(event.room_id)
