"""Sockets tell nobody about a room they may not read: a public room's room_* frames skip its guests and
the users banned from it, a member made a guest stops hearing public rooms at once, and a frame about a
message of a room the socket may not read is answered exactly like one about a missing message.
The REST side is in messaging/tests/test_no_leaks.py."""

import pytest
from channels.db import database_sync_to_async

from messaging.models import Membership, Reaction, Room
from messaging.services import room_create, room_delete, room_update
from messaging.services.moderation import room_ban
from messaging.tests.factories import make_room, send
from realtime.tests.sockets import make_socket, open_socket
from users.api_tokens import api_token_create
from users.models import User
from users.services import user_set_role
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)

THUMBS = "\N{THUMBS UP SIGN}"
make_user_async = database_sync_to_async(make_user)


async def room_frames(client, wait: float = 0.3) -> list[dict]:
    """Every room_* frame that arrives until the socket has been quiet for ``wait`` seconds."""
    seen = []
    while not await client.receive_nothing(wait):
        frame = await client.frame()
        if frame["type"].startswith("room_"):
            seen.append(frame)
    return seen


async def test_a_public_rooms_frames_skip_its_guests_and_banned_users(general_room, user, other_user):
    guest = await make_user_async("gus", role=User.Role.GUEST)
    invited = await make_user_async("ivy", role=User.Role.GUEST)
    banned = await make_user_async("bo")
    room = await database_sync_to_async(room_create)(actor=user, name="Lobby")
    await database_sync_to_async(Membership.objects.create)(room=room, user=invited)
    await database_sync_to_async(room_ban)(actor=user, room=room, user_id=banned.pk)
    sockets = {
        who.username: await open_socket("/ws/notifications/", user=who) for who in (other_user, guest, invited, banned)
    }

    await database_sync_to_async(room_update)(actor=user, room=room, changes={"topic": "Plans for Q3"})
    await database_sync_to_async(room_delete)(actor=user, room=room)
    heard = {name: [frame["type"] for frame in await room_frames(client)] for name, client in sockets.items()}

    assert heard == {
        "bob": ["room_updated", "room_deleted"],
        "gus": [],
        "ivy": ["room_updated", "room_deleted"],
        "bo": [],
    }
    for client in sockets.values():
        await client.disconnect()


async def test_a_new_public_room_is_not_announced_to_guests(general_room, user, other_user):
    guest = await make_user_async("gus", role=User.Role.GUEST)
    bob = await open_socket("/ws/notifications/", user=other_user)
    gus = await open_socket("/ws/notifications/", user=guest)

    await database_sync_to_async(room_create)(actor=user, name="Lobby")

    assert [frame["type"] for frame in await room_frames(bob)] == ["room_created"]
    assert await room_frames(gus) == []
    await bob.disconnect()
    await gus.disconnect()


async def test_a_member_made_a_guest_stops_hearing_public_rooms_at_once(general_room, user, other_user):
    admin = await make_user_async("root", is_staff=True, is_superuser=True)
    reader = await open_socket(user=other_user)  # general: public, bob is not a member

    await database_sync_to_async(user_set_role)(actor=admin, user=other_user, role=User.Role.GUEST)
    closed = await reader.closed_with()
    again = make_socket(user=other_user)
    connected, _ = await again.connect()

    assert closed == 4401
    assert connected
    assert await again.closed_with() == 4404


@pytest.mark.parametrize(
    ("signed_in_with", "code"), [("a session", "not_found"), ("a read token", "insufficient_scope")]
)
async def test_a_react_frame_about_an_unreadable_message_is_answered_like_a_missing_one(
    general_room, user, other_user, signed_in_with, code
):
    private = await database_sync_to_async(make_room)(kind=Room.Kind.PRIVATE, members=(other_user,))
    secret = await database_sync_to_async(send)(other_user, "secret", room=private)
    if signed_in_with == "a read token":
        issued = await database_sync_to_async(api_token_create)(actor=user, name="ro", scopes=["read"])
        alice = await open_socket(token=issued.text)
    else:
        alice = await open_socket(user=user)

    await alice.send(type="react", message_id=secret.pk, emoji=THUMBS, added=True)
    about_secret = await alice.frame()
    await alice.send(type="react", message_id=987654, emoji=THUMBS, added=True)
    about_nothing = await alice.frame()

    assert about_secret == about_nothing
    assert about_secret["code"] == code
    assert await database_sync_to_async(Reaction.objects.count)() == 0
    await alice.disconnect()
