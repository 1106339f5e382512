"""``react`` frames on /ws/messages/: acked with the message's reactions, broadcast to the room as
``reaction`` (and to nobody outside it), and bad frames answered with an error that stores nothing."""

import pytest
from channels.db import database_sync_to_async

from messaging.models import Reaction, Room
from messaging.services import message_pin
from messaging.tests.factories import make_room, send
from realtime.tests.sockets import open_socket

pytestmark = pytest.mark.django_db(transaction=True)

THUMBS = "\N{THUMBS UP SIGN}"
send_async = database_sync_to_async(send)
make_room_async = database_sync_to_async(make_room)
pin_async = database_sync_to_async(message_pin)


async def count_reactions() -> int:
    return await database_sync_to_async(Reaction.objects.count)()


async def test_a_react_frame_is_acked_and_reaches_the_room_but_no_outsider(general_room, user, other_user):
    await make_room_async(slug="elsewhere")
    message = await send_async(user, "ship it")
    alice = await open_socket(user=user)
    bob = await open_socket(user=other_user)
    outsider = await open_socket(user=other_user, room="elsewhere")

    await bob.send(type="react", message_id=message.pk, emoji=THUMBS, added=True)

    frames = await bob.frames_until("ack")
    reaction = await alice.frame()
    expected = [{"emoji": THUMBS, "count": 1, "user_ids": [other_user.pk]}]
    assert frames[-1] == {"type": "ack", "message_id": message.pk, "reactions": expected}
    assert reaction == {
        "type": "reaction",
        "room": "general",
        "message_id": message.pk,
        "seq": message.seq,
        "emoji": THUMBS,
        "user": {"id": other_user.pk, "username": "bob"},
        "added": True,
    }
    assert await outsider.receive_nothing(0.2)

    await bob.send(type="react", message_id=message.pk, emoji=THUMBS, added=True)  # idempotent: no broadcast
    assert (await bob.frames_until("ack"))[-1]["reactions"] == expected
    assert await alice.receive_nothing(0.2)
    for client in (alice, bob, outsider):
        await client.disconnect()


async def test_pins_reach_the_room(general_room, user):
    message = await send_async(user, "pin me")
    alice = await open_socket(user=user)

    await pin_async(actor=user, message_id=message.pk, pinned=True)
    await pin_async(actor=user, message_id=message.pk, pinned=False)

    assert (await alice.frame())["type"] == "message_pinned"
    assert (await alice.frame())["type"] == "message_unpinned"
    await alice.disconnect()


@pytest.mark.parametrize(
    ("emoji", "where", "code"),
    [
        ("ok", "here", "invalid_emoji"),
        (THUMBS * 2, "here", "invalid_emoji"),
        (THUMBS, "missing", "not_found"),
        (THUMBS, "private", "not_found"),
        (THUMBS, "other room", "not_found"),
    ],
)
async def test_a_bad_react_frame_gets_an_error_stores_nothing_and_the_socket_stays(
    general_room, user, other_user, emoji, where, code
):
    private = await make_room_async(kind=Room.Kind.PRIVATE, members=(other_user,))
    public = await make_room_async()
    messages = {
        "here": await send_async(user, "hi"),
        "private": await send_async(other_user, "secret", room=private),
        "other room": await send_async(user, "there", room=public),
    }
    message_id = messages[where].pk if where in messages else 999999
    alice = await open_socket(user=user)

    await alice.send(type="react", message_id=message_id, emoji=emoji, added=True)
    error = await alice.frame()
    await alice.send(type="react", message_id=messages["here"].pk, emoji=":ok:", added=True)
    ack = (await alice.frames_until("ack"))[-1]

    assert error["type"] == "error"
    assert error["code"] == code
    assert ack["reactions"] == [{"emoji": ":ok:", "count": 1, "user_ids": [user.pk]}]
    assert await count_reactions() == 1
    await alice.disconnect()
