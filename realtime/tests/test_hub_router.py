"""The router on its own: each event class reaches the right sockets or does the right thing."""

from __future__ import annotations

import asyncio
import json

import pytest

from realtime.hub.registry import SocketRegistry
from realtime.hub.rooms import Rooms
from realtime.hub.router import Router
from realtime.hub.streams import RoomStream
from realtime.hub.unread import UnreadCounter
from realtime.kernel import (
    CloseRoomSockets,
    CloseUserSockets,
    EphemeralFrame,
    Event,
    EveryoneFrame,
    RoomFrame,
    TrackRoom,
    UnreadChanged,
    UserFrame,
)
from realtime.kernel.events import event_types
from realtime.tests.fakes import FakeSocket, settle


class Setup:
    """Ana reads room 5 and counts its unread messages; Ben only counts them; Cid is elsewhere."""

    async def build(self) -> Setup:
        async def nothing(group: str) -> None:
            return None

        async def at_zero(room_id: int) -> int:
            return 0

        def landed(stream: RoomStream) -> None:
            self.unread.mark(stream.room_id)

        self.registry = SocketRegistry()
        self.rooms = Rooms(join=nothing, leave=nothing, on_message=landed, last_seq=at_zero)
        self.counts: list[int] = []
        self.unread = UnreadCounter(rooms=self.rooms, registry=self.registry, count=self.count)
        self.router = Router(
            registry=self.registry, rooms=self.rooms, unread=self.unread, spawn=asyncio.get_running_loop().create_task
        )
        self.ana_room = FakeSocket(1, "messages", room_id=5)
        self.ana_notes = FakeSocket(1, "notifications")
        self.ben_notes = FakeSocket(2, "notifications")
        self.cid_room = FakeSocket(3, "messages", room_id=6)
        for socket in (self.ana_room, self.ana_notes, self.ben_notes, self.cid_room):
            self.registry.add(socket)
        await self.rooms.follow(self.ana_room, room_id=5, slug="five")
        await self.rooms.follow(self.cid_room, room_id=6, slug="six")
        await self.rooms.watch(self.ana_notes, {5: "five"})
        await self.rooms.watch(self.ben_notes, {5: "five"})
        return self

    async def count(self, room_id: int, user_ids: list[int]) -> dict[int, int]:
        self.counts.append(room_id)
        return dict.fromkeys(user_ids, 1)


@pytest.fixture
async def setup() -> Setup:
    return await Setup().build()


def test_every_event_class_has_a_handler(setup):
    assert set(setup.router._handlers) == set(event_types().values())


async def test_a_message_goes_to_the_rooms_followers_and_makes_it_dirty(setup):
    await setup.router.route(RoomFrame(room_id=5, frame="m1", seq=1, sender=3))

    assert setup.ana_room.delivered == ["m1"]
    assert setup.cid_room.delivered == setup.ana_notes.delivered == []
    assert setup.unread.dirty == {5}


async def test_a_deletion_makes_the_room_dirty_and_an_edit_does_not(setup):
    await setup.router.route(RoomFrame(room_id=5, frame="edit"))
    assert setup.unread.dirty == set()

    await setup.router.route(RoomFrame(room_id=5, frame="deleted", changes_unread=True))

    assert setup.ana_room.delivered == ["edit", "deleted"]
    assert setup.unread.dirty == {5}


async def test_typing_reaches_the_followers_only(setup):
    await setup.router.route(EphemeralFrame(room_id=5, frame="typing"))

    assert setup.ana_room.delivered == ["typing"]
    assert setup.unread.dirty == set()


async def test_a_users_frame_reaches_their_sockets_of_that_kind(setup):
    await setup.router.route(UserFrame(user_id=1, kind="notifications", frame="note"))
    await setup.router.route(UserFrame(user_id=1, kind="all", frame="both"))

    assert setup.ana_notes.delivered == ["note", "both"]
    assert setup.ana_room.delivered == ["both"]
    assert setup.ben_notes.delivered == []


async def test_a_frame_to_everyone_reaches_every_socket_of_the_kind(setup):
    await setup.router.route(EveryoneFrame(kind="messages", frame="purged", changes_unread=True))

    assert setup.ana_room.delivered == setup.cid_room.delivered == ["purged"]
    assert setup.ben_notes.delivered == []
    assert setup.unread.dirty == {5}


async def test_closing_a_users_sockets_of_a_room_stops_their_counting_of_it(setup):
    await setup.router.route(CloseUserSockets(user_id=1, code=4404, room_id=5))

    assert setup.ana_room.closed == [4404]
    assert setup.ana_notes.closed == []
    assert setup.ana_notes not in setup.rooms.streams[5].watchers
    assert setup.ben_notes in setup.rooms.streams[5].watchers


async def test_closing_a_users_sockets(setup):
    await setup.router.route(CloseUserSockets(user_id=1, code=4403))

    assert setup.ana_room.closed == setup.ana_notes.closed == [4403]
    assert setup.ben_notes.closed == []


async def test_closing_a_rooms_sockets(setup):
    await setup.router.route(CloseRoomSockets(room_id=5, code=4404))

    assert setup.ana_room.closed == [4404]
    assert setup.cid_room.closed == []
    assert setup.rooms.streams[5].watchers == set()  # notification sockets stop counting it


async def test_a_read_tells_every_notification_socket_of_the_user(setup):
    await setup.router.route(UnreadChanged(user_id=1, room_id=5, room_slug="five", count=0))

    assert [json.loads(f) for f in setup.ana_notes.delivered] == [{"type": "unread", "room": "five", "count": 0}]
    assert setup.ana_notes.unread == {5: 0}
    assert setup.ben_notes.delivered == []


async def test_a_joined_room_is_counted_on_the_users_notification_sockets(setup):
    await setup.router.route(TrackRoom(user_id=2, room_id=7, room_slug="seven"))
    await settle()

    assert setup.ben_notes in setup.rooms.streams[7].watchers
    assert setup.unread.dirty == {7}
    await setup.unread.recount()
    assert json.loads(setup.ben_notes.delivered[-1]) == {"type": "unread", "room": "seven", "count": 1}


async def test_an_event_without_a_handler_is_logged_and_dropped(setup, caplog):
    class Stray(Event):
        __slots__ = ()

    await setup.router.route(Stray())

    assert "No handler for Stray events" in caplog.text
