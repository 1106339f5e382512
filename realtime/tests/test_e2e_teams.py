"""Teams across two daphne processes on one database and one Redis: a ban closes the banned person's
sockets for the room on both processes and refuses them afterwards; a revoked API token closes the
sockets signed in with it on both processes; a read-scoped token cannot post over a socket."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from realtime.tests.e2e import unique
from realtime.tests.e2e_cluster import connect, next_frame

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.timeout(300)]


async def close_code(ws, timeout: float = 5) -> int | None:
    """Read until the server closes; the close code it sent."""
    try:
        async with asyncio.timeout(timeout):
            async for _ in ws:
                pass
    except websockets.ConnectionClosed:
        pass
    code: int | None = ws.close_code
    return code


async def refused_with(server, token: str, **params) -> int | None:
    ws = await connect(server, token, **params)
    return await close_code(ws)


def call(server, method: str, path: str, body=None, token: str | None = None):
    return asyncio.to_thread(server.request, method, path, body, token)


async def test_a_ban_closes_the_sockets_on_both_processes_and_refuses_rejoining(cluster, people):
    _, ana_token = people["ana"]
    ben_id, ben_token = people["ben"]
    status, room = await call(cluster["a"], "POST", "/api/v1/rooms/", {"name": unique("Bans")}, ana_token)
    assert status == 201, room
    slug = room["slug"]
    status, _ = await call(cluster["b"], "POST", f"/api/v1/rooms/{slug}/members/", {}, ben_token)
    assert status == 201
    on_a = await connect(cluster["a"], ben_token, room=slug)
    on_b = await connect(cluster["b"], ben_token, room=slug)
    await asyncio.sleep(0.5)  # both registered with their hubs

    status, ban = await call(cluster["a"], "POST", f"/api/v1/rooms/{slug}/bans/", {"user": ben_id}, ana_token)
    assert status == 201, ban

    assert await close_code(on_a) == 4403
    assert await close_code(on_b) == 4403
    assert await refused_with(cluster["b"], ben_token, room=slug) == 4404
    assert await refused_with(cluster["a"], ben_token, room=slug) == 4404
    status, _ = await call(cluster["b"], "POST", f"/api/v1/rooms/{slug}/members/", {}, ben_token)
    assert status == 404


async def test_a_revoked_token_closes_its_sockets_on_both_processes(cluster, people):
    _, cid_jwt = people["cid"]
    status, issued = await call(cluster["a"], "POST", "/api/v1/tokens/", {"name": "e2e", "scopes": ["read"]}, cid_jwt)
    assert status == 201, issued
    token = issued["token"]
    on_a = await connect(cluster["a"], token)
    on_b = await connect(cluster["b"], token, path="/ws/notifications/")
    await asyncio.sleep(0.5)

    # A read-scoped token reads, but cannot post.
    await on_a.send(json.dumps({"type": "message", "content": "hi", "client_id": "r1"}))
    assert (await next_frame(on_a, "error"))["code"] == "insufficient_scope"
    status, _ = await call(cluster["b"], "POST", "/api/v1/messages/", {"content": "hi"}, token)
    assert status == 403

    status, _ = await call(cluster["b"], "DELETE", f"/api/v1/tokens/{issued['id']}/", None, cid_jwt)
    assert status == 204

    assert await close_code(on_a) == 4401
    assert await close_code(on_b) == 4401
    assert await refused_with(cluster["a"], token) == 4401
