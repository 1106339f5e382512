"""Unread counting on its own: dirty rooms recounted by the one rule, only changes sent."""

from __future__ import annotations

import asyncio
import json

from realtime.hub.registry import SocketRegistry
from realtime.hub.rooms import Rooms
from realtime.hub.streams import RoomStream
from realtime.hub.unread import UnreadCounter
from realtime.tests.fakes import FakeSocket


class Counts:
    """What the selector would answer, and the queries made."""

    def __init__(self, counts: dict[int, int]) -> None:
        self.counts = counts
        self.queries: list[tuple[int, list[int]]] = []
        self.gate: asyncio.Event | None = None
        self.fail = False

    async def __call__(self, room_id: int, user_ids: list[int]) -> dict[int, int]:
        self.queries.append((room_id, user_ids))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise ConnectionError("database gone")
        return {user_id: count for user_id, count in self.counts.items() if user_id in user_ids}


async def rooms_with(*watchers: FakeSocket, room_id: int = 5) -> Rooms:
    async def nothing(group: str) -> None:
        return None

    async def at_zero(room_id: int) -> int:
        return 0

    def ignore(stream: RoomStream) -> None:
        return None

    rooms = Rooms(join=nothing, leave=nothing, on_message=ignore, last_seq=at_zero)
    for socket in watchers:
        await rooms.watch(socket, {room_id: "five"})
    return rooms


def counter(rooms: Rooms, count: Counts) -> UnreadCounter:
    """An unread counter whose watchers are all registered (their sockets are open)."""
    registry = SocketRegistry()
    for stream in rooms.streams.values():
        for socket in stream.watchers:
            registry.add(socket)
    return UnreadCounter(rooms=rooms, registry=registry, count=count)


def sent(socket: FakeSocket) -> list[dict]:
    return [json.loads(frame) for frame in socket.delivered]


async def test_a_dirty_room_is_recounted_in_one_query_and_only_changes_are_sent():
    ana, ben, ben_phone = FakeSocket(1, "notifications"), FakeSocket(2, "notifications"), FakeSocket(2, "notifications")
    ana.unread[5] = 3
    counts = Counts({1: 3, 2: 1})
    unread = counter(await rooms_with(ana, ben, ben_phone), counts)

    unread.mark(5)
    unread.mark(5)
    await unread.recount()

    assert counts.queries == [(5, [1, 2])]
    assert sent(ana) == []
    assert sent(ben) == sent(ben_phone) == [{"type": "unread", "room": "five", "count": 1}]
    await unread.recount()
    assert len(counts.queries) == 1  # nothing dirty, nothing read


async def test_a_lower_count_is_sent_too():
    """A deletion (or a purge) makes the room dirty, and the recount lowers what the socket was told."""
    ana = FakeSocket(1, "notifications")
    ana.unread[5] = 2
    unread = counter(await rooms_with(ana), Counts({1: 1}))

    unread.mark(5)
    await unread.recount()

    assert sent(ana) == [{"type": "unread", "room": "five", "count": 1}]
    assert ana.unread[5] == 1


async def test_a_user_reading_the_room_here_is_not_told():
    ana = FakeSocket(1, "notifications")
    rooms = await rooms_with(ana)
    await rooms.follow(FakeSocket(1, "messages", room_id=5), room_id=5, slug="five")
    counts = Counts({1: 4})
    unread = counter(rooms, counts)

    unread.mark(5)
    await unread.recount()

    assert counts.queries == []
    assert sent(ana) == []


async def test_rooms_nobody_here_watches_are_never_counted():
    counts = Counts({1: 4})
    unread = counter(await rooms_with(), counts)

    unread.mark(5)
    await unread.recount()

    assert counts.queries == []


async def test_a_read_during_the_recount_wins_over_the_older_count():
    ana = FakeSocket(1, "notifications")
    counts = Counts({1: 4})
    counts.gate = asyncio.Event()
    unread = counter(await rooms_with(ana), counts)
    unread.mark(5)

    recount = asyncio.ensure_future(unread.recount())
    await asyncio.sleep(0)
    unread.reset([ana], room_id=5, count=0)  # the user marked the room read meanwhile
    counts.gate.set()
    await recount

    assert sent(ana) == []
    assert ana.unread[5] == 0


async def test_a_failed_count_is_tried_again_next_time():
    ana = FakeSocket(1, "notifications")
    counts = Counts({1: 2})
    counts.fail = True
    unread = counter(await rooms_with(ana), counts)
    unread.mark(5)

    await unread.recount()
    counts.fail = False
    await unread.recount()

    assert sent(ana) == [{"type": "unread", "room": "five", "count": 2}]


async def test_a_socket_that_stopped_watching_during_the_recount_is_not_told():
    ana, ben = FakeSocket(1, "notifications"), FakeSocket(2, "notifications")
    rooms = await rooms_with(ana, ben)
    counts = Counts({1: 2, 2: 2})
    counts.gate = asyncio.Event()
    unread = counter(rooms, counts)
    unread.mark(5)

    recount = asyncio.ensure_future(unread.recount())
    await asyncio.sleep(0)
    await rooms.unsubscribe(ana, 5)
    counts.gate.set()
    await recount

    assert sent(ana) == []
    assert sent(ben) == [{"type": "unread", "room": "five", "count": 2}]


async def test_a_socket_still_opening_is_told_once_it_is_registered():
    """Its first counts are on their way: a recount's frame must not overtake them."""
    ana = FakeSocket(1, "notifications")
    rooms = await rooms_with(ana)
    registry = SocketRegistry()
    unread = UnreadCounter(rooms=rooms, registry=registry, count=Counts({1: 2}))
    unread.mark(5)

    await unread.recount()
    assert sent(ana) == []
    registry.add(ana)
    await unread.recount()

    assert sent(ana) == [{"type": "unread", "room": "five", "count": 2}]
