"""Which sockets of this process follow or watch which rooms, each room's stream, and the periodic
catch-up of rooms whose events the channel layer lost."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

from django.conf import settings

from realtime import lookups
from realtime.hub.delivery import deliver_all
from realtime.hub.registry import Socket
from realtime.hub.streams import FetchFrames, RoomStream
from realtime.kernel import groups

logger = logging.getLogger(__name__)

GroupCall = Callable[[str], Awaitable[None]]


class Rooms:
    """Streams exist while a socket of this process follows (messages) or watches (notifications,
    counting unread) the room; the process is in the room's group for exactly that long."""

    def __init__(
        self,
        *,
        join: GroupCall,
        leave: GroupCall,
        on_message: Callable[[RoomStream], None],
        fetch: FetchFrames | None = None,
        last_seq: Callable[[int], Awaitable[int]] | None = None,
        last_seqs: Callable[[list[int]], Awaitable[dict[int, int]]] | None = None,
    ) -> None:
        """Database reads default to ``realtime.lookups``'s (tests give their own)."""
        self.streams: dict[int, RoomStream] = {}
        self.following: defaultdict[tuple[int, int], int] = defaultdict(int)  # (user, room) -> message sockets
        self.rooms_of: defaultdict[Socket, set[int]] = defaultdict(set)
        self._join, self._leave, self._on_message = join, leave, on_message
        self._fetch = fetch or lookups.fetch_frames
        self._last_seq = last_seq or lookups.room_last_seq
        self._last_seqs = last_seqs or lookups.rooms_last_seq

    async def follow(self, socket: Socket, *, room_id: int, slug: str) -> int:
        """Deliver a room to a message socket; return the seq after which live delivery starts."""
        stream = await self._stream(room_id, slug)
        stream.followers.add(socket)
        self.rooms_of[socket].add(room_id)
        self.following[(socket.user_id, room_id)] += 1
        return stream.delivered

    async def watch(self, socket: Socket, rooms: dict[int, str]) -> None:
        """Count unread messages of ``rooms`` (id -> slug) for a notification socket."""
        for room_id, slug in rooms.items():
            (await self._stream(room_id, slug)).watchers.add(socket)
            self.rooms_of[socket].add(room_id)

    def is_following(self, user_id: int, room_id: int) -> bool:
        """Whether a message socket of the user shows this room in this process (it is being read)."""
        return (user_id, room_id) in self.following

    async def unsubscribe(self, socket: Socket, room_id: int) -> None:
        """Stop delivering a room to a socket (and counting its unread messages for it)."""
        self.rooms_of.get(socket, set()).discard(room_id)
        socket.unread.pop(room_id, None)
        stream = self.streams.get(room_id)
        if stream is None:
            return
        if socket in stream.followers:
            stream.followers.discard(socket)
            key = (socket.user_id, room_id)
            self.following[key] -= 1
            if self.following[key] <= 0:
                del self.following[key]
        stream.watchers.discard(socket)
        if stream.empty:
            await self._drop(stream)

    async def forget(self, socket: Socket) -> None:
        """Unsubscribe a socket from every room (it closed, or failed while opening)."""
        for room_id in list(self.rooms_of.get(socket, ())):
            await self.unsubscribe(socket, room_id)
        self.rooms_of.pop(socket, None)

    def offer(self, room_id: int, seq: int | None, frame: str, committed_at: float | None = None) -> None:
        """A room's frame, to its followers once in order (rooms nobody here follows are ignored)."""
        stream = self.streams.get(room_id)
        if stream is None:
            return
        for sockets, released, released_at in stream.offer(seq, frame, committed_at):
            deliver_all(sockets, released, released_at)

    async def _stream(self, room_id: int, slug: str) -> RoomStream:
        while True:
            stream = self.streams.get(room_id)
            if stream is None:
                stream = RoomStream(room_id=room_id, slug=slug, fetch=self._fetch, on_message=self._on_message)
                self.streams[room_id] = stream
                try:
                    # Subscribe first, then read where the room is: nothing committed after the read is missed.
                    await self._join(groups.room(room_id))
                    stream.start_at(await self._last_seq(room_id))
                except BaseException:
                    del self.streams[room_id]
                    stream.ready.set()  # wake the waiters; they find the stream gone and retry
                    raise
            await stream.ready.wait()
            if self.streams.get(room_id) is stream:
                return stream

    async def _drop(self, stream: RoomStream) -> None:
        if self.streams.get(stream.room_id) is stream:
            del self.streams[stream.room_id]
            await self._leave(groups.room(stream.room_id))

    async def sync(self) -> None:
        """Deliver stored messages a stream has not seen (lost publishes): one query for all rooms."""
        if not self.streams:
            return
        latest = await self._last_seqs(list(self.streams))
        for room_id, last_seq in latest.items():
            stream = self.streams.get(room_id)
            if stream is not None and last_seq > stream.delivered:
                await stream.catch_up(last_seq)

    async def run_sync(self) -> None:
        """Every CHAT_HUB_SYNC_INTERVAL, ``sync``."""
        while True:
            await asyncio.sleep(settings.CHAT_HUB_SYNC_INTERVAL)
            try:
                await self.sync()
            except Exception:
                logger.warning("Room catch-up failed", exc_info=True)
