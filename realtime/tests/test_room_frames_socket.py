"""Room management over real sockets: room_* frames reach the notification sockets of everyone who may see
the room, live, and nobody else's; an archived room refuses socket writes and keeps the socket open."""

import pytest
from channels.db import database_sync_to_async

from messaging.models import Membership, Message, Room
from messaging.services import room_create, room_delete, room_update
from messaging.tests.factories import make_room
from realtime.tests.sockets import open_socket
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


async def next_room_frame(client, timeout=2):
    while True:
        frame = await client.frame(timeout)
        if frame["type"].startswith("room_"):
            return frame


async def nothing_about_rooms(client, wait=0.3) -> bool:
    while not await client.receive_nothing(wait):
        if (await client.frame())["type"].startswith("room_"):
            return False
    return True


async def test_a_new_public_room_appears_live_for_everyone(general_room, user, other_user):
    bob = await open_socket("/ws/notifications/", user=other_user)

    room = await database_sync_to_async(room_create)(actor=user, name="Lobby")

    frame = await next_room_frame(bob)
    assert frame["type"] == "room_created"
    assert (frame["room"]["slug"], frame["room"]["kind"]) == (room.slug, "public")
    await bob.disconnect()


async def test_a_private_rooms_frames_reach_its_members_and_nobody_else(general_room, user, other_user):
    outsider = await database_sync_to_async(make_user)("carol")
    room = await database_sync_to_async(make_room)(kind=Room.Kind.PRIVATE, members=(user, other_user))
    bob = await open_socket("/ws/notifications/", user=other_user)
    carol = await open_socket("/ws/notifications/", user=outsider)

    await database_sync_to_async(room_update)(actor=user, room=room, changes={"name": "Renamed"})
    updated = await next_room_frame(bob)
    await database_sync_to_async(room_create)(actor=user, name="Hidden", kind=Room.Kind.PRIVATE)
    await database_sync_to_async(room_delete)(actor=user, room=room)
    deleted = await next_room_frame(bob)

    assert (updated["type"], updated["room"]["name"]) == ("room_updated", "Renamed")
    assert (deleted["type"], deleted["room"]["slug"]) == ("room_deleted", room.slug)
    assert await nothing_about_rooms(bob)  # "Hidden" is not Bob's
    assert await nothing_about_rooms(carol)
    await bob.disconnect()
    await carol.disconnect()


async def test_deleting_a_room_closes_its_sockets_with_4404(general_room, user):
    room = await database_sync_to_async(make_room)(members=(user,))
    reader = await open_socket(user=user, room=room.slug)

    await database_sync_to_async(room_delete)(actor=user, room=room)

    assert await reader.closed_with() == 4404


async def test_a_message_to_an_archived_room_is_an_error_frame_and_the_socket_stays_open(general_room, user):
    room = await database_sync_to_async(make_room)(members=(user,))
    client = await open_socket(user=user, room=room.slug)
    await database_sync_to_async(room_update)(actor=user, room=room, changes={"archived": True})

    await client.send(type="message", content="into the archive", client_id="a-1")
    refused = await client.frames_until("error")
    await database_sync_to_async(room_update)(actor=user, room=room, changes={"archived": False})
    await client.send(type="message", content="back", client_id="a-2")
    accepted = await client.frames_until("ack")

    assert refused[-1]["code"] == "room_archived"
    assert refused[-1]["client_id"] == "a-1"
    assert accepted[-1]["client_id"] == "a-2"
    contents = await database_sync_to_async(
        lambda: list(Message.objects.filter(room=room).values_list("content", flat=True))
    )()
    assert contents == ["back"]
    await client.disconnect()


async def test_a_role_change_keeps_the_member_reading(general_room, user, other_user):
    room = await database_sync_to_async(make_room)(kind=Room.Kind.PRIVATE, members=(user, other_user))
    bob = await open_socket(user=other_user, room=room.slug)

    from messaging.services import room_set_role

    await database_sync_to_async(room_set_role)(actor=user, room=room, user=other_user, role="moderator")

    assert await bob.receive_nothing(0.2)
    role = await database_sync_to_async(lambda: Membership.objects.get(room=room, user=other_user).role)()
    assert role == "moderator"
    await bob.disconnect()


async def test_a_quiet_room_sends_no_unread_bumps_and_a_loud_one_does(general_room, user, other_user):
    from messaging.services import membership_update
    from realtime.tests.test_notifications_socket import frames_of_type, send_async

    carol = await database_sync_to_async(make_user)("carol")
    room = await database_sync_to_async(make_room)(kind=Room.Kind.PRIVATE, members=(user, other_user, carol))
    await database_sync_to_async(membership_update)(actor=other_user, room=room, changes={"notify": "none"})
    bob = await open_socket("/ws/notifications/", user=other_user)
    carol_socket = await open_socket("/ws/notifications/", user=carol)

    await send_async(user, "news", room=room)

    (bump,) = await frames_of_type(carol_socket, "unread")
    assert bump == {"type": "unread", "room": room.slug, "count": 1}
    while not await bob.receive_nothing(0.3):
        assert (await bob.frame())["type"] != "unread"
    await bob.disconnect()
    await carol_socket.disconnect()
