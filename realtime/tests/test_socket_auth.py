from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from rest_framework_simplejwt.tokens import AccessToken

from realtime.tests.sockets import make_socket, open_socket
from users.tests.factories import make_user, refresh_for, token_for

pytestmark = pytest.mark.django_db(transaction=True)


async def closed_after_accept(client) -> int:
    connected, _ = await client.connect()
    assert connected  # accepted first, so a browser can read the close code
    code: int = await client.closed_with()
    return code


@pytest.mark.parametrize("path", ["/ws/messages/", "/ws/notifications/"])
async def test_no_token_closes_with_4401(general_room, path):
    assert await closed_after_accept(make_socket(path)) == 4401


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 10000, "eyJhbGciOiJub25lIn0.e30."])
async def test_malformed_tokens_close_with_4401(general_room, token):
    assert await closed_after_accept(make_socket(token=token or None)) == 4401


async def test_an_expired_token_closes_with_4401(general_room, user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=5))

    assert await closed_after_accept(make_socket(token=str(token))) == 4401


async def test_a_refresh_token_is_not_accepted(general_room, user):
    refresh = await database_sync_to_async(refresh_for)(user)

    assert await closed_after_accept(make_socket(token=str(refresh))) == 4401


async def test_an_inactive_user_is_closed_with_4403(general_room):
    sleeper = await database_sync_to_async(make_user)("sleeper", is_active=False)

    assert await closed_after_accept(make_socket(user=sleeper)) == 4403


async def test_a_deleted_user_is_closed_with_4403(general_room):
    ghost = await database_sync_to_async(make_user)("ghost")
    token = token_for(ghost)
    await database_sync_to_async(ghost.delete)()

    assert await closed_after_accept(make_socket(token=token)) == 4403


@pytest.mark.parametrize("origin", ["http://localhost:8000", "https://127.0.0.1", None])
async def test_allowed_or_missing_origins_go_on_to_token_auth(general_room, user, origin):
    client = await open_socket(user=user, origin=origin)

    await client.send(type="typing")
    assert (await client.frame())["type"] == "typing"
    await client.disconnect()


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "file://", "http://localhost.evil.example"])
async def test_foreign_origins_are_refused_at_the_handshake(general_room, user, origin):
    client = make_socket(user=user, origin=origin)

    connected, code = await client.connect()

    assert connected is False
    assert code == 4403


async def test_an_unknown_path_is_refused(general_room, user):
    connected, _ = await make_socket("/ws/nope/", user=user).connect()

    assert connected is False


async def test_the_socket_closes_with_4401_when_the_token_expires(general_room, user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=1))
    client = await open_socket(token=str(token))

    assert await client.closed_with(timeout=3) == 4401


async def test_deactivating_a_user_closes_their_sockets_with_4403(general_room, user, staff_user):
    from users.services import user_update

    messages = await open_socket(user=user)
    notifications = await open_socket("/ws/notifications/", user=user)

    await database_sync_to_async(user_update)(actor=staff_user, user=user, data={"is_active": False})

    assert await messages.closed_with() == 4403
    assert await notifications.closed_with() == 4403


async def test_deleting_a_user_closes_their_sockets_with_4403(general_room, user, staff_user):
    from users.services import user_delete

    client = await open_socket(user=user)

    await database_sync_to_async(user_delete)(actor=staff_user, user=user)

    assert await client.closed_with() == 4403


async def test_tokens_never_reach_the_logs(general_room, user, caplog):
    caplog.set_level("DEBUG")
    token = token_for(user)

    client = await open_socket(token=token)
    await client.send(type="message", content="hello")
    await client.frames_until("ack")
    await client.disconnect()
    bad = make_socket(token=token + "tampered")
    await closed_after_accept(bad)

    assert token not in caplog.text
