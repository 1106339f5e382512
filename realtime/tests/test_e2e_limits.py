"""Per-user limits hold across server processes: two real daphne processes on one database and one Redis,
with a small socket cap and message budget, driven by real WebSocket and HTTP clients."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets

from realtime.kernel import closecodes
from realtime.tests.e2e import Server, server_env, unique, wait_until
from realtime.tests.e2e_cluster import connect

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.timeout(300)]

CAP = 3


@pytest.fixture(scope="module")
def capped(redis_server, database_url, tmp_path_factory):
    """Processes A and B allowing 3 sockets per user and 4 messages a minute per user."""
    logs = tmp_path_factory.mktemp("e2e-limits-logs")
    env = server_env(
        database_url=database_url,
        redis_url=redis_server.url,
        prefix=unique("limits"),
        CHAT_MAX_SOCKETS_PER_USER=str(CAP),
        CHAT_MESSAGE_RATE="4/min",
    )
    servers = {name: Server(name=name, env=env, log_dir=logs) for name in ("a", "b")}
    try:
        for server in servers.values():
            server.start()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def connections(server: Server, token: str, user_id: int) -> int:
    _, users = server.request("GET", "/api/v1/connected-users/", token=token)
    return next((user["connections"] for user in users if user["id"] == user_id), 0)


async def wait_for_connections(server: Server, token: str, user_id: int, count: int) -> None:
    def reached() -> bool:
        return connections(server, token, user_id) == count

    await asyncio.to_thread(wait_until, reached, timeout=10, what=f"{count} connections in presence")


async def close_code(ws) -> int | None:
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    code: int | None = ws.close_code
    return code


async def answer_to(ws) -> dict:
    """The server's ack or error for the frame just sent."""
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if frame["type"] in {"ack", "error"}:
            return frame


async def test_the_socket_cap_of_a_user_holds_across_processes(capped):
    a, b = capped["a"], capped["b"]
    user_id, token = await asyncio.to_thread(a.sign_up, unique("tabs"))
    on_a = [await connect(a, token), await connect(a, token, "/ws/notifications/")]
    on_b = await connect(b, token)
    await wait_for_connections(a, token, user_id, CAP)

    refused_by_b = await connect(b, token)
    refused_by_a = await connect(a, token, "/ws/notifications/")

    assert await close_code(refused_by_b) == closecodes.TOO_MANY_SOCKETS
    assert await close_code(refused_by_a) == closecodes.TOO_MANY_SOCKETS
    assert connections(b, token, user_id) == CAP  # the refused sockets left nothing in presence
    await on_a[0].close()
    await wait_for_connections(b, token, user_id, CAP - 1)
    replacement = await connect(b, token)
    await wait_for_connections(a, token, user_id, CAP)
    for ws in (on_a[1], on_b, replacement):
        await ws.close()


async def test_the_message_budget_of_a_user_holds_across_processes_and_rest(capped):
    a, b = capped["a"], capped["b"]
    _, token = await asyncio.to_thread(a.sign_up, unique("chatty"))
    on_a, on_b = await connect(a, token), await connect(b, token)

    answers = []
    for i, ws in enumerate([on_a, on_b, on_a, on_b, on_a]):
        await ws.send(json.dumps({"type": "message", "content": f"m{i}", "client_id": f"c{i}"}))
        answers.append(await answer_to(ws))
    status, body = await asyncio.to_thread(b.request, "POST", "/api/v1/messages/", {"content": "rest"}, token)

    assert [answer["type"] for answer in answers] == ["ack"] * 4 + ["error"]
    assert answers[-1]["code"] == "rate_limited"
    assert answers[-1]["client_id"] == "c4"
    assert (status, body["code"]) == (429, "rate_limited")
    await on_a.close()
    await on_b.close()
