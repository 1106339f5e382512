"""Room subscriptions on their own: streams live exactly while a socket here needs the room."""

from __future__ import annotations

import asyncio

import pytest

from realtime.hub.rooms import Rooms
from realtime.hub.streams import RoomStream
from realtime.tests.fakes import FakeSocket, settle


class Backend:
    """The group calls and database reads Rooms makes."""

    def __init__(self) -> None:
        self.groups: list[tuple[str, str]] = []
        self.last_seqs: dict[int, int] = {}
        self.landed: list[int] = []
        self.join_gate: asyncio.Event | None = None
        self.join_fails = False

    async def join(self, group: str) -> None:
        self.groups.append(("join", group))
        if self.join_gate is not None:
            await self.join_gate.wait()
        if self.join_fails:
            raise ConnectionError("layer down")

    async def leave(self, group: str) -> None:
        self.groups.append(("leave", group))

    async def last_seq(self, room_id: int) -> int:
        return self.last_seqs.get(room_id, 0)

    async def all_last_seqs(self, room_ids: list[int]) -> dict[int, int]:
        return {room_id: self.last_seqs.get(room_id, 0) for room_id in room_ids}

    async def fetch(self, room_id: int, after: int, upto: int) -> list[tuple[int, str, int | None]]:
        return [(seq, f"r{room_id}m{seq}", None) for seq in range(after + 1, upto + 1)]

    def rooms(self) -> Rooms:
        def landed(stream: RoomStream) -> None:
            self.landed.append(stream.room_id)

        return Rooms(
            join=self.join,
            leave=self.leave,
            on_message=landed,
            fetch=self.fetch,
            last_seq=self.last_seq,
            last_seqs=self.all_last_seqs,
        )


async def test_following_joins_the_room_and_starts_where_the_room_is():
    backend = Backend()
    backend.last_seqs[5] = 12
    rooms = backend.rooms()
    socket = FakeSocket(1, "messages", room_id=5)

    assert await rooms.follow(socket, room_id=5, slug="five") == 12
    assert backend.groups == [("join", "chat.room.5")]
    assert rooms.is_following(1, 5)


async def test_the_last_socket_out_leaves_the_room():
    backend = Backend()
    rooms = backend.rooms()
    reader, watcher = FakeSocket(1, "messages", room_id=5), FakeSocket(2, "notifications")
    await rooms.follow(reader, room_id=5, slug="five")
    await rooms.watch(watcher, {5: "five"})
    watcher.unread[5] = 3

    await rooms.unsubscribe(reader, 5)
    assert 5 in rooms.streams
    assert not rooms.is_following(1, 5)
    await rooms.forget(watcher)

    assert rooms.streams == {}
    assert watcher.unread == {}
    assert backend.groups == [("join", "chat.room.5"), ("leave", "chat.room.5")]
    assert rooms.following == {}
    assert dict(rooms.rooms_of) == {reader: set()}


async def test_two_sockets_opening_at_once_share_one_stream_and_one_join():
    backend = Backend()
    backend.join_gate = asyncio.Event()
    rooms = backend.rooms()
    first = asyncio.ensure_future(rooms.follow(FakeSocket(1), room_id=5, slug="five"))
    second = asyncio.ensure_future(rooms.follow(FakeSocket(2), room_id=5, slug="five"))
    await settle()

    backend.join_gate.set()
    await asyncio.gather(first, second)

    assert backend.groups == [("join", "chat.room.5")]
    assert len(rooms.streams[5].followers) == 2


async def test_a_failed_join_leaves_no_stream_behind():
    backend = Backend()
    backend.join_fails = True
    rooms = backend.rooms()

    with pytest.raises(ConnectionError):
        await rooms.follow(FakeSocket(1), room_id=5, slug="five")

    assert rooms.streams == {}


async def test_frames_of_rooms_nobody_here_follows_are_ignored():
    rooms = Backend().rooms()
    socket = FakeSocket(1)
    await rooms.follow(socket, room_id=5, slug="five")

    rooms.offer(6, 1, "elsewhere")
    rooms.offer(5, 1, "here")

    assert socket.delivered == ["here"]


async def test_sync_delivers_what_the_layer_lost_in_one_read_for_all_rooms():
    backend = Backend()
    rooms = backend.rooms()
    five, six = FakeSocket(1), FakeSocket(2)
    await rooms.follow(five, room_id=5, slug="five")
    await rooms.follow(six, room_id=6, slug="six")
    backend.last_seqs.update({5: 2, 6: 0})

    await rooms.sync()

    assert five.delivered == ["r5m1", "r5m2"]
    assert six.delivered == []
    assert backend.landed == [5, 5]
