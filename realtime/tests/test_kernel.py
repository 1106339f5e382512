"""The kernel's typed events: what crosses the channel layer, and the outbox that hands them on."""

from __future__ import annotations

import dataclasses

import msgpack  # type: ignore[import-untyped]  # msgpack ships no type information
import pytest

from realtime.kernel import (
    CloseRoomSockets,
    CloseTokenSockets,
    CloseUserSockets,
    EphemeralFrame,
    EveryoneFrame,
    RoomFrame,
    TrackRoom,
    UnreadChanged,
    UserFrame,
    from_wire,
    outbox,
    publish,
    publish_now,
)
from realtime.kernel.events import Event, UnknownEvent, event_types
from realtime.kernel.process import PROCESS_ID

ONE_OF_EACH: list[Event] = [
    RoomFrame(room_id=3, frame='{"type":"message"}', seq=7, sender=2),
    RoomFrame(room_id=3, frame='{"type":"message_deleted"}', changes_unread=True),
    EphemeralFrame(room_id=3, frame='{"type":"typing"}'),
    UserFrame(user_id=2, kind="notifications", frame='{"type":"notification"}'),
    EveryoneFrame(kind="messages", frame='{"type":"messages_purged","room":null}', changes_unread=True),
    EveryoneFrame(kind="notifications", frame='{"type":"room_updated"}', except_users=(4, 7)),
    CloseUserSockets(user_id=2, code=4404, room_id=3),
    CloseUserSockets(user_id=2, code=4403),
    CloseRoomSockets(room_id=3, code=4404),
    CloseTokenSockets(user_id=2, token_id=5, code=4401),
    UnreadChanged(user_id=2, room_id=3, room_slug="general", count=0),
    TrackRoom(user_id=2, room_id=3, room_slug="general"),
]


def test_the_examples_cover_every_event_type():
    assert {type(event) for event in ONE_OF_EACH} == set(event_types().values())


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: type(e).__name__)
def test_an_event_survives_the_channel_layer(event):
    """channels-redis carries messages as msgpack: every event comes back equal."""
    carried = msgpack.unpackb(msgpack.packb(event.to_wire()))

    assert from_wire(carried) == event


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: type(e).__name__)
def test_every_field_is_on_the_wire(event):
    assert set(type(event).WIRE) == {f.name for f in dataclasses.fields(event)}


def test_events_are_frozen_and_slotted():
    event = RoomFrame(room_id=1, frame="{}")

    with pytest.raises(dataclasses.FrozenInstanceError):
        event.frame = "changed"  # type: ignore[misc]  # the point: a frozen event refuses it
    assert not hasattr(event, "__dict__")


def test_the_wire_names_the_group_of_the_recipients():
    assert RoomFrame(room_id=3, frame="{}").to_wire()["group"] == "chat.room.3"
    assert UserFrame(user_id=2, kind="all", frame="{}").to_wire()["group"] == "chat.user.2"
    assert EveryoneFrame(kind="all", frame="{}").to_wire()["group"] == "chat.everyone"
    assert CloseUserSockets(user_id=2, code=4403).to_wire() == {
        "event": "close_user",
        "group": "chat.user.2",
        "user": 2,
        "close": 4403,
        "room": None,
    }


@pytest.mark.parametrize(
    "message",
    [{}, {"event": "no_such_event"}, {"event": "room", "group": "chat.room.1"}, {"event": None}],
)
def test_a_message_no_event_class_reads_is_refused(message):
    with pytest.raises(UnknownEvent):
        from_wire(message)


def test_the_outbox_tags_what_it_sends_with_this_process():
    message = outbox.wire_message(TrackRoom(user_id=1, room_id=2, room_slug="x"))

    assert message["type"] == "hub.event"
    assert message["origin"] == PROCESS_ID


@pytest.mark.django_db(transaction=True)
def test_publish_waits_for_the_commit_and_publish_now_does_not():
    from django.db import transaction

    seen: list[Event] = []
    stop = outbox.observe(seen.append)
    try:
        with transaction.atomic():
            publish(TrackRoom(user_id=1, room_id=2, room_slug="x"))
            publish_now(EphemeralFrame(room_id=2, frame="{}"))
            assert seen == [EphemeralFrame(room_id=2, frame="{}")]
        assert seen[-1] == TrackRoom(user_id=1, room_id=2, room_slug="x")
    finally:
        stop()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_event_is_never_published():
    from django.db import transaction

    seen: list[Event] = []
    stop = outbox.observe(seen.append)

    def rolled_back() -> None:
        with transaction.atomic():
            publish(TrackRoom(user_id=1, room_id=2, room_slug="x"))
            raise RuntimeError("rolled back")

    try:
        with pytest.raises(RuntimeError):
            rolled_back()
    finally:
        stop()

    assert seen == []
