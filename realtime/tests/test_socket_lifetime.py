"""Socket lifetime: ``{"type": "auth", "token": ...}`` renews the token of an open socket (same user
only), answered ``auth_ok``; the expiry timer follows the new token; unrenewed, the socket closes 4401."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from rest_framework_simplejwt.tokens import AccessToken

from realtime.tests.sockets import open_socket
from users.tests.factories import make_user, token_for

pytestmark = pytest.mark.django_db(transaction=True)

PATHS = ["/ws/messages/", "/ws/notifications/"]


def short_token(user, seconds: float) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=seconds))
    return str(token)


@pytest.mark.parametrize("path", PATHS)
async def test_auth_renews_the_token_and_the_socket_outlives_the_first(general_room, user, path):
    first = short_token(user, 4)  # long enough to open and renew on a loaded machine
    client = await open_socket(path, token=first)
    fresh = short_token(user, 60)

    await client.send(type="auth", token=fresh)

    answer = (await client.frames_until("auth_ok"))[-1]  # after the user's own presence on /ws/notifications/
    assert answer == {"type": "auth_ok", "exp": AccessToken(fresh)["exp"]}  # type: ignore[arg-type]  # it takes str
    assert abs(answer["exp"] - (time.time() + 60)) < 5
    past_first_exp = max(0.0, AccessToken(first)["exp"] - time.time()) + 0.5  # type: ignore[arg-type]  # it takes str
    assert await client.receive_nothing(past_first_exp)  # still open, nothing sent
    await client.send(type="auth", token=fresh)  # still served
    assert (await client.frame())["type"] == "auth_ok"
    await client.disconnect()


@pytest.mark.parametrize("path", PATHS)
async def test_the_socket_closes_at_the_renewed_tokens_exp(general_room, user, path):
    client = await open_socket(path, token=short_token(user, 60))

    await client.send(type="auth", token=short_token(user, 1))

    await client.frames_until("auth_ok")
    started = time.monotonic()
    assert await client.closed_with(timeout=3) == 4401
    assert time.monotonic() - started < 2.5


async def test_renewing_keeps_the_room_stream(general_room, user, other_user):
    client = await open_socket(token=short_token(user, 1))
    await client.send(type="auth", token=token_for(user))
    await client.frames_until("auth_ok")

    await client.send(type="message", content="after renewal", client_id="r1")

    frames = await client.frames_until("ack")
    assert (await client.frame() if len(frames) == 1 else frames[0])["message"]["content"] == "after renewal"
    await client.disconnect()


@pytest.mark.parametrize("path", PATHS)
async def test_another_users_token_closes_with_4401(general_room, user, other_user, path):
    client = await open_socket(path, user=user)

    await client.send(type="auth", token=token_for(other_user))

    assert await client.closed_with() == 4401


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
async def test_a_refused_token_closes_with_4401(general_room, user, token):
    client = await open_socket(user=user)

    await client.send(type="auth", token=token)

    assert await client.closed_with() == 4401


async def test_an_expired_token_closes_with_4401(general_room, user):
    client = await open_socket(user=user)
    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=-timedelta(seconds=5))

    await client.send(type="auth", token=str(expired))

    assert await client.closed_with() == 4401


async def test_a_deactivated_users_renewal_closes_with_4403(general_room):
    sleeper = await database_sync_to_async(make_user)("sleeper")
    client = await open_socket(user=sleeper)
    token = token_for(sleeper)
    sleeper.is_active = False
    await database_sync_to_async(sleeper.save)()  # no service: the socket is not closed by an event

    await client.send(type="auth", token=token)

    assert await client.closed_with() == 4403


@pytest.mark.parametrize("frame", [{}, {"token": ""}, {"token": 5}, {"token": None}, {"token": "x" * 8193}])
async def test_a_malformed_auth_frame_is_an_error_and_changes_nothing(general_room, user, frame):
    client = await open_socket(user=user)

    await client.send(type="auth", **frame)

    error = await client.frame()
    assert (error["type"], error["code"]) == ("error", "invalid_field")
    assert "x" * 100 not in error["detail"]  # the token is never echoed
    await client.send(type="typing")
    assert (await client.frame())["type"] == "typing"  # the socket stays usable
    await client.disconnect()


async def test_auth_tokens_never_reach_the_logs(general_room, user, other_user, caplog):
    caplog.set_level("DEBUG")
    client = await open_socket(user=user)
    token, foreign = token_for(user), token_for(other_user)

    await client.send(type="auth", token=token)
    await client.frames_until("auth_ok")
    await client.send(type="auth", token=foreign)
    assert await client.closed_with() == 4401

    assert token not in caplog.text
    assert foreign not in caplog.text
