"""Unread counts over real notification sockets: pushed from the database's count, coalesced, reset on read,
lowered by deletions and purges, and stopped when the room is left."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from messaging.services import room_join, room_mark_read
from messaging.tests.factories import make_room
from realtime.tests.sockets import open_socket
from realtime.tests.test_notifications_socket import frames_of_type, send_async

pytestmark = pytest.mark.django_db(transaction=True)


async def test_unread_counts_of_joined_rooms_are_pushed_and_coalesced(general_room, user, other_user):
    await database_sync_to_async(room_join)(actor=other_user, room=general_room)
    bob = await open_socket("/ws/notifications/", user=other_user)

    for i in range(3):
        await send_async(user, f"m{i}")

    frames = await frames_of_type(bob, "unread")
    while frames[-1]["count"] < 3:
        frames += await frames_of_type(bob, "unread")
    assert frames[-1] == {"type": "unread", "room": "general", "count": 3}
    assert len(frames) <= 3


async def test_unread_counts_start_from_the_database_and_reset_on_read(general_room, user, other_user):
    await database_sync_to_async(room_join)(actor=other_user, room=general_room)
    await send_async(user, "while you were away")

    bob = await open_socket("/ws/notifications/", user=other_user)
    (initial,) = await frames_of_type(bob, "unread")
    await database_sync_to_async(room_mark_read)(actor=other_user, room=general_room)
    (after_read,) = await frames_of_type(bob, "unread")

    assert initial == {"type": "unread", "room": "general", "count": 1}
    assert after_read == {"type": "unread", "room": "general", "count": 0}
    await bob.disconnect()


async def test_own_messages_and_the_room_being_read_do_not_count(general_room, user, other_user):
    await database_sync_to_async(room_join)(actor=other_user, room=general_room)
    bob_notes = await open_socket("/ws/notifications/", user=other_user)
    await frames_of_type(bob_notes, "presence")  # bob's own arrival
    bob_room = await open_socket(user=other_user)

    await send_async(other_user, "my own")
    await send_async(user, "seen live in the open room")

    assert await bob_notes.receive_nothing(0.3)
    await bob_notes.disconnect()
    await bob_room.disconnect()


async def test_a_room_joined_after_connecting_is_counted_too(general_room, user, other_user):
    bob = await open_socket("/ws/notifications/", user=other_user)
    room = await database_sync_to_async(make_room)(slug="later")
    await database_sync_to_async(room_join)(actor=other_user, room=room)

    await send_async(user, "hello", room=room)

    (frame,) = await frames_of_type(bob, "unread")
    assert frame == {"type": "unread", "room": "later", "count": 1}
    await bob.disconnect()


async def test_leaving_a_private_room_stops_its_unread_counts(general_room, user, other_user):
    from messaging.models import Room
    from messaging.services import room_remove_member

    room = await database_sync_to_async(make_room)(slug="team", kind=Room.Kind.PRIVATE, members=(user, other_user))
    bob = await open_socket("/ws/notifications/", user=other_user)
    await frames_of_type(bob, "presence")

    await database_sync_to_async(room_remove_member)(actor=other_user, room=room, user=other_user)
    await asyncio.sleep(0.2)
    await send_async(user, "after bob left", room=room)

    assert await bob.receive_nothing(0.4)
    await bob.disconnect()


async def test_a_deleted_message_lowers_the_unread_count(general_room, user, other_user):
    """One unread rule: the count a socket is told is the database's, so a deletion lowers it."""
    from messaging.services import message_delete

    await database_sync_to_async(room_join)(actor=other_user, room=general_room)
    bob = await open_socket("/ws/notifications/", user=other_user)
    await send_async(user, "first")
    second = await send_async(user, "second")
    frames = await frames_of_type(bob, "unread")
    while frames[-1]["count"] < 2:
        frames += await frames_of_type(bob, "unread")

    await database_sync_to_async(message_delete)(actor=user, message_id=second.pk)

    (lowered,) = await frames_of_type(bob, "unread")
    assert lowered == {"type": "unread", "room": "general", "count": 1}
    await bob.disconnect()


async def test_a_purged_room_counts_nothing_unread(general_room, user, other_user, staff_user):
    from messaging.services.purge import messages_purge

    await database_sync_to_async(room_join)(actor=other_user, room=general_room)
    await send_async(user, "soon gone")
    bob = await open_socket("/ws/notifications/", user=other_user)
    (initial,) = await frames_of_type(bob, "unread")

    await database_sync_to_async(messages_purge)(actor=staff_user, room=general_room)

    (after,) = await frames_of_type(bob, "unread")
    assert (initial["count"], after["count"]) == (1, 0)
    await bob.disconnect()
