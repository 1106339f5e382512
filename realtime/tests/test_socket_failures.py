"""Sockets that meet bad input or fail: error frames instead of crashes, and no ghosts (close codes and
slow readers: test_socket_closes.py).

A consumer that crashed never ran ``disconnect``: the hub and presence kept it (1,000 crashed sockets
left 966 users "online"). Frames echoing a lone surrogate crashed the send; NUL characters were
stored (SQLite) or a server error (PostgreSQL). These tests run on the database presence and, with a
Redis server, on the Redis presence too.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, cast

import pytest
from channels.db import database_sync_to_async

from conftest import redis_url, require_service
from messaging.models import Message, Notification
from realtime import presence
from realtime.hub import get_hub
from realtime.kernel import closecodes
from realtime.ratelimit import FloodGuard
from realtime.socketbase import ChatSocket
from realtime.tests.sockets import make_socket, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["database", "redis"])
def presence_store(request, settings):
    """The presence store every socket of the test registers in (set before the hub starts)."""
    if request.param == "database":
        settings.CHAT_PRESENCE_BACKEND = "realtime.presence.DatabasePresence"
        yield request.param
        return
    require_service("Redis", redis_url(), 6379)
    settings.REDIS_URL = redis_url()
    settings.CHAT_PRESENCE_BACKEND = "realtime.presence.RedisPresence"
    settings.CHAT_LAYER_PREFIX = f"test-{uuid.uuid4().hex[:8]}"
    yield request.param
    import redis

    client = redis.Redis.from_url(redis_url())
    try:
        keys = client.keys(f"{settings.CHAT_LAYER_PREFIX}:*")
        if keys:
            client.delete(*keys)
    finally:
        client.close()


async def connected() -> list[str]:
    return await database_sync_to_async(presence.connected_clients)()


async def assert_no_ghost() -> None:
    hub = await get_hub()
    assert hub.registry.sockets == set()
    assert dict(hub.registry.users) == {}
    assert all(not stream.followers and not stream.watchers for stream in hub.rooms.streams.values())
    assert await connected() == []


async def count(model) -> int:
    counted: int = await database_sync_to_async(model.objects.count)()
    return counted


# --- values echoed back ----------------------------------------------------------------------------------


async def test_a_lone_surrogate_client_id_is_echoed_encodable_and_the_socket_stays(general_room, user):
    alice = await open_socket(user=user)

    await alice.send_to(text_data='{"type": "x", "client_id": "\\ud800"}')

    raw = await alice.receive_from()
    assert isinstance(raw, str)
    raw.encode("utf-8")  # what daphne does with every text frame
    error = json.loads(raw)
    assert (error["code"], error["client_id"]) == ("unknown_type", "\ud800")
    await alice.send(type="message", content="still here", client_id="c1")
    assert (await alice.frames_until("ack"))[-1]["client_id"] == "c1"
    assert len(await connected()) == 1
    await alice.disconnect()


async def test_a_lone_surrogate_in_a_message_client_id_is_an_invalid_field(general_room, user):
    alice = await open_socket(user=user)

    await alice.send_to(text_data='{"type": "message", "content": "hi", "client_id": "a\\udfffb"}')

    assert (await alice.frame())["code"] == "invalid_field"
    assert await count(Message) == 0
    await alice.disconnect()


# --- NUL characters --------------------------------------------------------------------------------------

NUL_FRAMES = {
    "message content": ("/ws/messages/", {"type": "message", "content": "a\x00b"}),
    "message client_id": ("/ws/messages/", {"type": "message", "content": "hi", "client_id": "a\x00b"}),
    "notification title": ("/ws/notifications/", {"type": "notification", "to": "all", "title": "a\x00b"}),
    "notification body": ("/ws/notifications/", {"type": "notification", "to": "all", "title": "t", "body": "\x00"}),
    "back_chat message": ("/ws/messages", {"user_id": "null", "content": "a\x00b", "mtype": "message"}),
    "back_chat client_id": ("/ws/messages", {"content": "hi", "mtype": "message", "client_id": "\x00"}),
    "back_chat notification": ("/ws/notifications", {"user_id": "null", "content": "a\x00b", "mtype": "message"}),
}
VALID_AFTER = {
    "/ws/messages/": {"type": "message", "content": "fine"},
    "/ws/messages": {"type": "message", "content": "fine", "client_id": "after"},  # back_chat's path acks only these
    "/ws/notifications/": {"type": "notification", "to": "all", "title": "fine"},
    "/ws/notifications": {"type": "notification", "to": "all", "title": "fine"},
}


async def next_of_type(client, frame_type: str) -> dict:
    """The next frame of a type (read raw: back_chat's message frames are not in the AsyncAPI document)."""
    while True:
        frame: dict[str, Any] = json.loads(await client.receive_from())
        if frame.get("type") == frame_type:
            return frame


@pytest.mark.parametrize("case", NUL_FRAMES)
async def test_nul_in_a_text_field_is_refused_and_nothing_is_stored(general_room, staff_user, user, case):
    path, frame = NUL_FRAMES[case]
    client = await open_socket(path, user=staff_user)

    await client.send(**frame)
    error = await next_of_type(client, "error")
    stored = await count(Message) + await count(Notification)
    await client.send(**VALID_AFTER[path])

    assert error["code"] == "invalid_field"
    assert "NUL" in error["detail"]
    assert stored == 0
    assert await next_of_type(client, "ack")  # the socket stays usable
    await client.disconnect()


# --- no ghosts ---------------------------------------------------------------------------------------------


async def crash_while_connecting(monkeypatch, client) -> None:
    def broken(self):
        raise RuntimeError("failed after registering")

    monkeypatch.setattr(ChatSocket, "_close_when_token_expires", broken)
    connected_, _ = await client.connect()
    assert connected_


async def crash_in_receive(monkeypatch, client) -> None:
    await connect_and_register(client)

    def broken(self):
        raise RuntimeError("failed receiving")

    monkeypatch.setattr(FloodGuard, "admit", broken)
    await client.send(type="typing")


async def crash_in_a_send(monkeypatch, client) -> None:
    consumer = await connect_and_register(client)
    original = consumer.base_send

    async def broken(message):
        if message["type"] == "websocket.send":
            raise ConnectionResetError("the connection went away under the send")
        await original(message)

    consumer.base_send = broken
    await client.send(type="no such type")  # answered with an error frame, whose send fails


async def connect_and_register(client) -> ChatSocket:
    hub = await get_hub()
    before = set(hub.registry.sockets)
    connected_, _ = await client.connect()
    assert connected_
    for _ in range(200):
        if new := hub.registry.sockets - before:
            return cast(ChatSocket, new.pop())
        await asyncio.sleep(0.01)
    raise AssertionError("never registered")


CRASHES = {"connect": crash_while_connecting, "receive": crash_in_receive, "send": crash_in_a_send}


@pytest.mark.parametrize("where", CRASHES)
async def test_a_socket_that_crashes_leaves_no_ghost(
    general_room, user, other_user, presence_store, where, monkeypatch
):
    paths = ("/ws/messages/", "/ws/notifications/", "/ws/messages")
    clients = [make_socket(path, user=person) for person in (user, other_user) for path in paths]

    for client in clients:
        await CRASHES[where](monkeypatch, client)
        assert await client.closed_with() == closecodes.SERVER_ERROR
        await client.wait(2)  # the consumer has ended

    await assert_no_ghost()


async def test_a_socket_closed_by_its_client_leaves_no_ghost(general_room, user, presence_store):
    alice = await open_socket(user=user)
    alice_notifications = await open_socket("/ws/notifications/", user=user)
    assert len(await connected()) == 2

    await alice.disconnect()
    await alice_notifications.disconnect()

    await assert_no_ghost()
