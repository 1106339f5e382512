"""The link to the channel layer on its own, over a layer in memory that can go down."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from channels.layers import BaseChannelLayer

from realtime.hub.link import LayerLink
from realtime.kernel import EphemeralFrame, Event, RoomFrame, TrackRoom
from realtime.kernel.outbox import wire_message
from realtime.tests.fakes import FakeLayer, eventually, settle


@pytest.fixture
def fast_layer(settings):
    settings.CHAT_LAYER_TIMEOUT = 0.5


class Linked:
    def __init__(self, layer: FakeLayer | None) -> None:
        self.layer = layer
        self.received: list[Event] = []
        self.recoveries = 0
        channel_layer = cast(BaseChannelLayer | None, layer)  # what LayerLink uses of a layer, in memory
        self.link = LayerLink(
            channel_layer,
            slots=asyncio.Semaphore(10),
            received=lambda event, _committed_at: self.received.append(event),
            recovered=self.recovered,
        )
        self.tasks: list[asyncio.Task[None]] = []

    async def recovered(self) -> None:
        self.recoveries += 1

    async def start(self) -> LayerLink:
        self.tasks = await self.link.start(asyncio.get_running_loop().create_task)
        return self.link

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def test_starting_opens_a_channel_and_joins_everyone(fast_layer):
    layer = FakeLayer()
    linked = Linked(layer)
    link = await linked.start()

    assert link.channel == "hub.channel"
    assert layer.groups["chat.everyone"] == {"hub.channel"}
    await linked.stop()


async def test_a_leave_racing_a_join_never_strands_the_process_outside(fast_layer):
    layer = FakeLayer()
    linked = Linked(layer)
    link = await linked.start()

    joining = asyncio.ensure_future(link.join("chat.room.1"))
    await link.leave("chat.room.1")
    await link.join("chat.room.1")
    await joining

    assert layer.groups["chat.room.1"] == {"hub.channel"}
    assert "chat.room.1" in link.joined
    await linked.stop()


async def test_events_go_to_other_processes_in_order(fast_layer):
    layer = FakeLayer()
    linked = Linked(layer)
    link = await linked.start()
    first, second = RoomFrame(room_id=1, frame="a", seq=1), RoomFrame(room_id=1, frame="b", seq=2)

    link.forward(first)
    link.forward(second)
    await settle()

    assert layer.sent == [("chat.room.1", wire_message(first)), ("chat.room.1", wire_message(second))]
    await linked.stop()


async def test_a_forward_is_retried_through_an_outage_but_typing_is_dropped(fast_layer):
    layer = FakeLayer()
    linked = Linked(layer)
    link = await linked.start()
    layer.down = True

    link.forward(EphemeralFrame(room_id=1, frame="typing"))
    link.forward(TrackRoom(user_id=1, room_id=1, room_slug="x"))
    await eventually(lambda: not link.ok)
    await asyncio.sleep(0.1)  # a few retries
    layer.down = False
    await eventually(lambda: layer.sent)

    assert [message["event"] for _group, message in layer.sent] == ["track"]
    await linked.stop()


async def test_received_events_are_decoded_and_our_own_echoes_skipped(fast_layer, caplog):
    layer = FakeLayer()
    linked = Linked(layer)
    await linked.start()
    theirs = TrackRoom(user_id=1, room_id=2, room_slug="x")

    layer.inbox.put_nowait(wire_message(RoomFrame(room_id=1, frame="ours")))  # origin: this process
    layer.inbox.put_nowait({**theirs.to_wire(), "origin": "another-process"})
    layer.inbox.put_nowait({"event": "from_a_newer_version", "origin": "another-process"})
    await settle()

    assert linked.received == [theirs]
    assert "from_a_newer_version" in caplog.text
    await linked.stop()


async def test_recovery_rejoins_every_group_then_catches_up(fast_layer):
    layer = FakeLayer()
    linked = Linked(layer)
    link = await linked.start()
    await link.join("chat.room.1")
    layer.groups.clear()  # Redis restarted

    layer.down = True
    await link.recover()
    assert linked.recoveries == 0
    layer.down = False
    await link.recover()

    assert set(layer.groups) == {"chat.everyone", "chat.room.1"}
    assert link.ok
    assert linked.recoveries == 1
    await linked.stop()


async def test_without_a_layer_groups_are_only_tracked():
    linked = Linked(None)
    link = await linked.start()
    await link.join("chat.room.1")
    link.forward(TrackRoom(user_id=1, room_id=2, room_slug="x"))
    await link.recover()

    assert linked.tasks == []
    assert link.joined == {"chat.room.1"}
    assert linked.recoveries == 0
