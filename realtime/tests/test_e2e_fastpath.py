"""The fast path over real daphne: the fence passes against the installed daphne, autobahn and Twisted,
broadcasts are written directly to the connections, and a reader that stops reading is closed with
1013 while the others keep receiving. (Its own server, so that its log holds this test's story only.)"""

from __future__ import annotations

import asyncio
import json

import pytest

from realtime.tests.e2e import unique, wait_until
from realtime.tests.e2e_cluster import one_server
from realtime.tests.test_e2e_sockets import SLOW_READER_LIMIT, connect, post, raw_socket, read_until_close

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def server(request, database_url, tmp_path_factory):
    settings = {"CHAT_SLOW_READER_LIMIT": str(SLOW_READER_LIMIT), "CHAT_MAX_MESSAGE_LENGTH": "30000"}
    with one_server(
        request, database_url, tmp_path_factory.mktemp("e2e-fastpath"), name="fastpath", **settings
    ) as process:
        yield process


async def read_messages(ws, into: list[int]) -> None:
    async for raw in ws:
        frame = json.loads(raw)
        if frame.get("type") == "message":
            into.append(frame["message"]["id"])


async def test_broadcasts_take_the_fast_path_and_a_reader_that_stops_reading_gets_1013(server):
    assert "Fast path on: broadcasts are written directly to daphne connections (daphne " in server.log_path.read_text()
    slow_id, slow_token = await asyncio.to_thread(server.sign_up, unique("slow"))
    _, token = await asyncio.to_thread(server.sign_up, unique("talker"))
    slow = await asyncio.to_thread(raw_socket, server, f"/ws/messages/?token={slow_token}")
    readers = [await connect(server, token), await connect(server, token)]
    writer = await connect(server, token)
    received: list[list[int]] = [[], []]
    reading = [
        asyncio.get_running_loop().create_task(read_messages(ws, got))
        for ws, got in zip(readers, received, strict=True)
    ]

    sent: list[int] = []
    while f"user {slow_id} that fell too far behind" not in server.log_path.read_text():
        assert len(sent) < 2000, "the slow reader was never closed"
        sent.append((await post(writer, "x" * 30_000, unique("f")))["id"])
    sent.append((await post(writer, "after the slow reader was closed", unique("f")))["id"])
    frames, code = await asyncio.to_thread(read_until_close, slow, 10)
    await asyncio.to_thread(
        wait_until, lambda: all(len(got) == len(sent) for got in received), timeout=20, what="the readers"
    )

    assert code == 1013
    assert frames < len(sent)
    assert received == [sent, sent]
    log = server.log_path.read_text()
    assert "Sockets are on the fast path" in log
    assert "Fast path in use: a broadcast was written directly" in log
    assert "ASGI path" not in log
    for task in reading:
        task.cancel()
    slow.close()
    for ws in (*readers, writer):
        await ws.close()
