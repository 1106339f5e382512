"""Threads over /ws/messages/: a reply's message frame and the root's thread_updated frame reach the room;
a reply_to outside the room gets an error frame, stores nothing, and the socket stays open."""

import pytest
from channels.db import database_sync_to_async

from messaging.models import Room
from messaging.tests.factories import make_room, send
from realtime.tests.sockets import open_socket
from realtime.tests.test_messages_socket import count_messages

pytestmark = pytest.mark.django_db(transaction=True)

send_async = database_sync_to_async(send)
make_room_async = database_sync_to_async(make_room)


async def test_a_reply_reaches_the_room_with_its_roots_counters(general_room, user, other_user):
    root = await send_async(user, "lunch?")
    alice = await open_socket(user=user)
    bob = await open_socket(user=other_user)

    await bob.send(type="message", content="yes", reply_to=root.pk, client_id="r1")
    await bob.frames_until("ack")
    frames = [await alice.frame(), await alice.frame()]  # each checked against the AsyncAPI document

    by_type = {frame["type"]: frame for frame in frames}
    assert by_type["message"]["message"]["thread_root"] == root.pk
    assert by_type["message"]["message"]["reply_to"] == root.pk
    assert by_type["thread_updated"] == {
        "type": "thread_updated",
        "room": "general",
        "message_id": root.pk,
        "reply_count": 1,
        "last_reply_at": by_type["message"]["message"]["created_at"],
        "thread_participants": [other_user.pk],
    }
    for client in (alice, bob):
        await client.disconnect()


@pytest.mark.parametrize("where", ["public", "private"])
async def test_a_reply_to_a_message_of_another_room_is_an_error_and_the_socket_stays_open(
    general_room, user, other_user, where
):
    kind = Room.Kind.PUBLIC if where == "public" else Room.Kind.PRIVATE
    elsewhere = await make_room_async(kind=kind, members=(other_user,))
    foreign = await send_async(other_user, "there", room=elsewhere)
    alice = await open_socket(user=user)

    await alice.send(type="message", content="reply", reply_to=foreign.pk, client_id="bad")
    error = await alice.frame()
    await alice.send(type="message", content="after the error")
    ack = (await alice.frames_until("ack"))[-1]

    assert error["type"] == "error"
    assert error["code"] == "invalid_field"
    assert error["client_id"] == "bad"
    assert "reply_to" in error["detail"]
    assert ack["seq"] == 1  # nothing was stored in general by the refused reply
    assert await count_messages() == 2
    await alice.disconnect()


async def test_the_roots_author_hears_of_a_reply_on_their_notification_socket(general_room, user, other_user):
    root = await send_async(user, "lunch?")
    alice = await open_socket("/ws/notifications/", user=user)
    bob = await open_socket(user=other_user)

    await bob.send(type="message", content="yes", reply_to=root.pk, client_id="r1")
    await bob.frames_until("ack")
    frame = (await alice.frames_until("notification"))[-1]["notification"]

    assert (frame["kind"], frame["data"]["thread_root"]) == ("thread_reply", root.pk)
    for client in (alice, bob):
        await client.disconnect()
