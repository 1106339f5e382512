"""Socket test support: fixtures (imported by the conftest of every app with socket tests) and a
WebsocketCommunicator over the real ASGI application (origin policy, token middleware, router, hub)."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from realtime.asyncapi import validate_server_frame
from realtime.hub import stop_hub
from users.tests.factories import token_for

_ports = itertools.count(40000)


@pytest.fixture
def general_room(transactional_db):
    from messaging.tests.factories import general

    return general()


@pytest.fixture(autouse=True)
async def _fresh_hub(settings, transactional_db):
    """A hub per test, stopped before the database is flushed (its tasks use the database)."""
    settings.CHAT_PRESENCE_HEARTBEAT = 30
    settings.CHAT_HUB_SYNC_INTERVAL = 30
    settings.CHAT_UNREAD_INTERVAL = 0.05
    from realtime import lookups

    lookups.forget_rooms()  # room ids do not survive a transactional test's flush
    yield
    await stop_hub()
    # channels-redis binds a layer's receive state to one event loop; each test runs its own loop.
    close_pools = getattr(channel_layers.backends.pop("default", None), "close_pools", None)
    if close_pools is not None:
        await close_pools()


class Client(WebsocketCommunicator):
    """A WebsocketCommunicator with JSON helpers and the close code it was sent."""

    async def frame(self, timeout: float = 2) -> dict:
        """The next server frame, checked against its socket's schemas in the AsyncAPI document."""
        frame: dict[str, Any] = json.loads(await self.receive_from(timeout))
        validate_server_frame(frame, channel=self.scope["path"])
        return frame

    async def frames_until(self, frame_type: str, timeout: float = 2) -> list[dict]:
        seen = []
        while True:
            frame = await self.frame(timeout)
            seen.append(frame)
            if frame["type"] == frame_type:
                return seen

    async def closed_with(self, timeout: float = 2) -> int | None:
        while True:
            output = await self.receive_output(timeout)
            if output["type"] == "websocket.close":
                return output.get("code")

    async def nothing_but(self, *frame_types: str, window: float = 0.3) -> bool:
        """``receive_nothing`` that lets frames of ``frame_types`` through: what a Redis layer may bring
        late from before the test's action (its own presence), never a close or any other frame."""
        await asyncio.sleep(window)
        while not self.output_queue.empty():
            output = self.output_queue.get_nowait()
            if output["type"] != "websocket.send" or json.loads(output["text"])["type"] not in frame_types:
                return False
        return True

    async def send(self, **frame) -> None:
        await self.send_to(text_data=json.dumps(frame))


def like_daphne(application):
    """The application with daphne's constraint on what it sends: every text frame is encoded to UTF-8
    (daphne does it, and raises on a lone surrogate; the test communicator would not)."""

    async def app(scope, receive, send):
        async def send_encoded(message):
            if message.get("type") == "websocket.send" and message.get("text") is not None:
                message["text"].encode("utf-8")
            await send(message)

        return await application(scope, receive, send_encoded)

    return app


def make_socket(
    path: str = "/ws/messages/", *, user=None, token: str | None = None, origin: str | None = None, **params
) -> Client:
    from chatsite.asgi import application

    query = {key: value for key, value in params.items() if value is not None}
    if token is None and user is not None:
        token = token_for(user)
    if token is not None:
        query = {"token": token, **query}
    headers = [(b"origin", origin.encode())] if origin else []
    client = Client(like_daphne(application), f"{path}?{urlencode(query)}", headers=headers)
    client.scope["client"] = ("127.0.0.1", next(_ports))
    return client


async def registered_sockets() -> int:
    from realtime.hub import get_hub

    return len((await get_hub()).registry.sockets)


async def open_socket(path: str = "/ws/messages/", **kwargs) -> Client:
    """Connect and wait until the hub has registered the socket (it follows its room, counts in presence)."""
    before = await registered_sockets()
    client = make_socket(path, **kwargs)
    connected, _ = await client.connect()
    assert connected
    for _ in range(200):
        if await registered_sockets() > before:
            return client
        await asyncio.sleep(0.01)
    raise AssertionError("the socket was accepted but never registered")
