"""Unread counts for notification sockets, from the one unread rule (the SQL of messaging.selectors).

Nothing is counted in memory. A room is marked dirty when something that may change its counts lands
(a new message, live or caught up from the database; a deletion; a purge), and every
CHAT_UNREAD_INTERVAL the dirty rooms are recounted, one grouped query per room for the users watching
it here, and only counts that changed are sent: at most one frame per socket and room per interval.
Users reading the room in this process (a message socket follows it) are not told: they see it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable

from django.conf import settings

from messaging import events
from realtime import lookups
from realtime.hub.delivery import deliver_all
from realtime.hub.registry import Socket, SocketRegistry
from realtime.hub.rooms import Rooms
from realtime.kernel import encode

logger = logging.getLogger(__name__)

# (room id, user ids) -> unread count per user id; users left out are not told (no longer members, or
# members who quietened the room: notification level "none" or muted).
CountUnread = Callable[[int, list[int]], Awaitable[dict[int, int]]]


class UnreadCounter:
    def __init__(self, *, rooms: Rooms, registry: SocketRegistry, count: CountUnread | None = None) -> None:
        self.rooms, self.registry = rooms, registry
        self.dirty: set[int] = set()
        self._count = count or lookups.unread_counts
        # (room, user) pairs whose count was set while a recount was reading: its result is older.
        self._fresh: set[tuple[int, int]] = set()

    def mark(self, room_id: int) -> None:
        """Something that may change the room's unread counts happened: recount it soon."""
        stream = self.rooms.streams.get(room_id)
        if stream is not None and stream.watchers:
            self.dirty.add(room_id)

    def mark_all(self) -> None:
        for room_id in self.rooms.streams:
            self.mark(room_id)

    def reset(self, sockets: Iterable[Socket], *, room_id: int, count: int) -> None:
        """The user marked the room read and their sockets were told ``count``: count on from there."""
        for socket in sockets:
            socket.unread[room_id] = count
            self._fresh.add((room_id, socket.user_id))

    async def recount(self) -> None:
        """Recount every dirty room; send each watching socket its count if it changed."""
        dirty, self.dirty = self.dirty, set()
        self._fresh = set()
        for room_id in dirty:
            try:
                await self._recount_room(room_id)
            except Exception:
                logger.warning("Could not count unread messages of room %s", room_id, exc_info=True)
                self.dirty.add(room_id)  # next time

    async def _recount_room(self, room_id: int) -> None:
        stream = self.rooms.streams.get(room_id)
        if stream is None:
            return
        readers = [s for s in stream.watchers if not self.rooms.is_following(s.user_id, room_id)]
        if not readers:
            return
        counts = await self._count(room_id, sorted({s.user_id for s in readers}))
        if self.rooms.streams.get(room_id) is not stream:
            return  # nobody here watches the room any more
        changed: defaultdict[int, set[Socket]] = defaultdict(set)
        for socket in readers:
            if socket not in stream.watchers or (room_id, socket.user_id) in self._fresh:
                continue
            if socket not in self.registry:
                self.dirty.add(room_id)  # still sending its first counts: tell it after them, next time
                continue
            count = counts.get(socket.user_id)
            if count is not None and socket.unread.get(room_id, 0) != count:
                socket.unread[room_id] = count
                changed[count].add(socket)
        for count, sockets in changed.items():
            deliver_all(sockets, encode(events.unread(room_slug=stream.slug, count=count)))

    async def run(self) -> None:
        """Every CHAT_UNREAD_INTERVAL, ``recount``."""
        while True:
            await asyncio.sleep(settings.CHAT_UNREAD_INTERVAL)
            try:
                await self.recount()
            except Exception:
                logger.warning("Unread counting failed", exc_info=True)
