"""Teams on sockets: API tokens (scopes, revocation and expiry on an open socket), bans (the banned
person's sockets for the room close with 4403, and reconnecting is refused), mutes (an error frame, the
socket stays open), announcement rooms and guests."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from messaging.models import Room
from messaging.services import room_join
from messaging.services.moderation import room_ban, room_mute, room_set_post_policy
from messaging.tests.factories import make_room
from realtime.tests.sockets import make_socket, open_socket
from users import api_tokens
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def issue(user, *scopes, **fields):
    return api_tokens.api_token_create(actor=user, name="t", scopes=list(scopes), **fields)


async def closed_after_accept(client) -> int:
    connected, _ = await client.connect()
    assert connected
    code: int = await client.closed_with()
    return code


async def test_a_read_token_reads_but_cannot_send(general_room, user, other_user):
    issued = await issue(user, "read")
    client = await open_socket(token=issued.text)

    await client.send(type="message", content="hi", client_id="c1")
    error = await client.frame()
    assert error["type"] == "error"
    assert error["code"] == "insufficient_scope"
    # Still open, and reading.
    writer = await open_socket(user=other_user)
    await writer.send(type="message", content="from bob")
    frames = await client.frames_until("message")
    assert frames[-1]["message"]["content"] == "from bob"
    await client.disconnect()
    await writer.disconnect()


async def test_a_write_token_sends(general_room, user):
    issued = await issue(user, "write")
    client = await open_socket(token=issued.text)

    await client.send(type="message", content="hi", client_id="c1")
    ack = (await client.frames_until("ack"))[-1]
    assert ack["client_id"] == "c1"
    await client.disconnect()


async def test_a_read_token_cannot_send_notifications(general_room, user, other_user):
    issued = await issue(user, "read")
    client = await open_socket("/ws/notifications/", token=issued.text)

    await client.send(type="notification", to=[other_user.pk], title="hi")
    frames = await client.frames_until("error")
    assert frames[-1]["code"] == "insufficient_scope"
    await client.disconnect()


async def test_revoking_a_token_closes_its_open_sockets_with_4401_only(general_room, user):
    issued = await issue(user, "read")
    by_token = await open_socket(token=issued.text)
    by_jwt = await open_socket(user=user)

    await database_sync_to_async(api_tokens.api_token_revoke)(actor=user, token_id=issued.token.pk)

    assert await by_token.closed_with() == 4401
    assert await by_jwt.receive_nothing(0.3)  # the person's other sockets stay
    assert await closed_after_accept(make_socket(token=issued.text)) == 4401
    await by_jwt.disconnect()


async def test_an_expiring_token_closes_the_socket_at_its_expiry(general_room, user):
    issued = await issue(user, "read", expires_at=timezone.now() + timedelta(seconds=1))
    client = await open_socket(token=issued.text)

    assert await client.closed_with(timeout=4) == 4401


@pytest.mark.parametrize("token", ["chat_", "chat_x_y", "chat_" + "z" * 200])
async def test_bad_api_tokens_close_with_4401(general_room, token):
    assert await closed_after_accept(make_socket(token=token)) == 4401


async def test_a_ban_closes_the_sockets_for_that_room_and_refuses_them_afterwards(user, other_user):
    room = await database_sync_to_async(make_room)(kind=Room.Kind.PUBLIC, members=(user, other_user))
    in_room = await open_socket(user=other_user, room=room.slug)
    elsewhere = await open_socket("/ws/notifications/", user=other_user)

    await database_sync_to_async(room_ban)(actor=user, room=room, user_id=other_user.pk)

    assert await in_room.closed_with() == 4403
    assert await closed_after_accept(make_socket(user=other_user, room=room.slug)) == 4404
    assert await elsewhere.nothing_but("presence")  # their other sockets stay open
    await elsewhere.disconnect()


async def test_a_ban_refuses_reconnecting_to_a_recently_cached_public_room(user, other_user):
    room = await database_sync_to_async(make_room)(kind=Room.Kind.PUBLIC, members=(user,))
    first = await open_socket(user=other_user, room=room.slug)  # caches the public room in this process
    await first.disconnect()

    await database_sync_to_async(room_ban)(actor=user, room=room, user_id=other_user.pk)
    await asyncio.sleep(0.1)

    assert await closed_after_accept(make_socket(user=other_user, room=room.slug)) == 4404


async def test_a_muted_user_gets_an_error_and_the_socket_stays_open(user, other_user):
    room = await database_sync_to_async(make_room)(kind=Room.Kind.PUBLIC, members=(user, other_user))
    client = await open_socket(user=other_user, room=room.slug)
    until = timezone.now() + timedelta(hours=1)
    await database_sync_to_async(room_mute)(actor=user, room=room, user_id=other_user.pk, until=until)

    await client.send(type="message", content="hi", client_id="m1")
    error = (await client.frames_until("error"))[-1]
    assert error["code"] == "muted"
    assert error["client_id"] == "m1"
    writer = await open_socket(user=user, room=room.slug)
    await writer.send(type="message", content="still reading?")
    assert (await client.frames_until("message"))[-1]["message"]["content"] == "still reading?"
    await client.disconnect()
    await writer.disconnect()


async def test_only_moderators_post_in_an_announcement_room_over_sockets(user, other_user):
    room = await database_sync_to_async(make_room)(kind=Room.Kind.PUBLIC, members=(user, other_user))
    await database_sync_to_async(room_set_post_policy)(actor=user, room=room, post_policy="moderators")
    member = await open_socket(user=other_user, room=room.slug)

    await member.send(type="message", content="hi")
    assert (await member.frames_until("error"))[-1]["code"] == "posting_restricted"
    await member.disconnect()


async def test_a_guest_cannot_follow_a_public_room_it_was_not_added_to(general_room):
    guest = await database_sync_to_async(make_user)("guest", role="guest")
    other = await database_sync_to_async(make_user)("regular")
    await database_sync_to_async(room_join)(actor=other, room=general_room)
    warm = await open_socket(user=other)  # the public room is now in the process's cache
    await warm.disconnect()

    assert await closed_after_accept(make_socket(user=guest)) == 4404
