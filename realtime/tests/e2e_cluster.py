"""Fixtures and helpers of the end-to-end tests: a private Redis, a database other processes can use, two
daphne processes on them (the cluster), three users, and WebSocket helpers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from conftest import services_required
from realtime.tests.e2e import RedisServer, Server, migrated_database, server_env, unique


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer()
    if server.binary is None:
        if services_required():
            pytest.fail("redis-server is not installed and CHAT_REQUIRE_SERVICES is set")
        pytest.skip("redis-server is not installed: end-to-end tests need a private Redis")
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    with migrated_database(tmp_path_factory.mktemp("e2e")) as url:
        yield url


@contextlib.contextmanager
def one_server(request, database_url: str, log_dir, *, name: str, **settings: str) -> Iterator[Server]:
    """One daphne process on the module's database: on PostgreSQL with the private Redis, on SQLite with
    the in-memory layer (as ``make run``)."""
    redis_url = request.getfixturevalue("redis_server").url if database_url.startswith("postgres") else ""
    env = server_env(database_url=database_url, redis_url=redis_url, prefix=unique("e2e"), **settings)
    process = Server(name=name, env=env, log_dir=log_dir)
    try:
        process.start()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def cluster(redis_server, database_url, tmp_path_factory):
    """Processes A and B on one database and one Redis."""
    logs = tmp_path_factory.mktemp("e2e-logs")
    env = server_env(database_url=database_url, redis_url=redis_server.url, prefix=unique("e2e"))
    servers = {name: Server(name=name, env=env, log_dir=logs) for name in ("a", "b")}
    try:
        for server in servers.values():
            server.start()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="module")
def people(cluster):
    """Three users and their access tokens, created over the API of process A."""
    a = cluster["a"]
    return {name: a.sign_up(unique(name)) for name in ("ana", "ben", "cid")}


async def connect(server: Server, token: str, path: str = "/ws/messages/", **params):
    query = "&".join(f"{key}={value}" for key, value in {"token": token, **params}.items())
    return await websockets.connect(f"{server.ws}{path}?{query}", open_timeout=10)


async def live(ws) -> None:
    """Wait until the server has subscribed ``ws`` to its user's events. A socket is accepted before
    its process joins the user's group in the layer, so an event published elsewhere in between never
    reaches it (what it missed is in REST). Frames are handled in order after the subscription: the
    error answering an unknown frame proves it is done."""
    await ws.send(json.dumps({"type": "are-you-live"}))
    await next_frame(ws, "error")


async def follow(server: Server, token: str, room: str = "general"):
    """Connect as a client should: from the room's current seq (``last_seq``), so that messages
    committed while the server is still subscribing the socket are replayed, not missed."""
    _, page = await asyncio.to_thread(server.request, "GET", f"/api/v1/rooms/{room}/", None, token)
    return await connect(server, token, room=room, last_seq=page["last_seq"])


async def next_message(ws, timeout: float = 5) -> dict:
    """The next message, whether it came live or in the replay that follows a connect with last_seq."""
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
        if frame["type"] == "message":
            message: dict[str, Any] = frame["message"]
            return message
        if frame["type"] == "history" and frame["messages"]:
            first: dict[str, Any] = frame["messages"][0]
            return first


async def next_frame(ws, frame_type: str, timeout: float = 5) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
        if frame["type"] == frame_type:
            return frame


async def next_presence(ws, user_id: int, status: str, timeout: float) -> dict:
    """The next ``presence`` frame saying ``user_id`` is ``status``, others skipped, within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        frame = await next_frame(ws, "presence", timeout=max(0.01, deadline - time.monotonic()))
        if frame["user"]["id"] == user_id and frame["status"] == status:
            return frame
