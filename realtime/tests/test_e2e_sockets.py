"""Frames, replays, slow readers and close codes against a real daphne process, read by real clients.

What daphne and autobahn do on the wire (frame limits, close codes they refuse, TCP resets, write
buffers) never shows in a test communicator. One server: SQLite and the in-memory layer by default;
PostgreSQL and a private Redis when the suite runs on PostgreSQL (as test_e2e.py decides).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from typing import Any

import pytest
import websockets

from realtime.tests.e2e import Server, unique, wait_until
from realtime.tests.e2e_cluster import one_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

MIB = 1024 * 1024
SLOW_READER_LIMIT = MIB  # replay frames keep their default size, 512 KiB (at most half of this)


@pytest.fixture(scope="module")
def server(request, database_url, tmp_path_factory):
    settings = {"CHAT_SLOW_READER_LIMIT": str(SLOW_READER_LIMIT), "CHAT_MAX_MESSAGE_LENGTH": "30000"}
    with one_server(
        request, database_url, tmp_path_factory.mktemp("e2e-sockets"), name="sockets", **settings
    ) as process:
        yield process


async def connect(server: Server, token: str, path: str = "/ws/messages/", **params):
    query = "&".join(f"{key}={value}" for key, value in {"token": token, **params}.items())
    return await websockets.connect(f"{server.ws}{path}?{query}", open_timeout=10)


async def next_frame(ws, frame_type: str, timeout: float = 10) -> dict:
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame.get("type") == frame_type:
            return frame


async def post(ws, content: str, client_id: str) -> dict:
    await ws.send(json.dumps({"type": "message", "content": content, "client_id": client_id}))
    return await next_frame(ws, "ack")


async def room_last_seq(server: Server, token: str) -> int:
    _, room = await asyncio.to_thread(server.request, "GET", "/api/v1/rooms/general/", None, token)
    last_seq: int = room["last_seq"]
    return last_seq


async def test_a_missed_history_over_1_mib_is_replayed_whole_and_live_messages_follow(server):
    _, token = await asyncio.to_thread(server.sign_up, unique("replay"))
    start = await room_last_seq(server, token)
    writer = await connect(server, token)
    sent = [(await post(writer, f"{index} " + "😀" * 4000, unique("r")))["seq"] for index in range(70)]

    reader = await connect(server, token, last_seq=start)
    histories = [await next_frame(reader, "history")]
    while not histories[-1]["complete"]:
        histories.append(await next_frame(reader, "history"))
    await post(writer, "live after the replay", "live-1")
    live = await next_frame(reader, "message")

    replayed = [message["seq"] for frame in histories for message in frame["messages"]]
    assert sum(len(message["content"].encode()) for f in histories for message in f["messages"]) > MIB
    assert len(histories) > 1
    assert replayed == sent
    assert live["message"]["content"] == "live after the replay"
    await writer.close()
    await reader.close()


async def test_a_frame_over_1_mib_is_closed_with_1009(server):
    _, token = await asyncio.to_thread(server.sign_up, unique("big"))
    ws = await connect(server, token)

    await ws.send("x" * (MIB + 100 * 1024))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 10)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


async def test_a_lone_surrogate_client_id_gets_an_error_frame_and_leaves_no_ghost(server):
    user_id, token = await asyncio.to_thread(server.sign_up, unique("surrogate"))
    ws = await connect(server, token)

    await ws.send('{"type": "x", "client_id": "\\ud800"}')
    error = await next_frame(ws, "error")
    ack = await post(ws, "still open", "s-1")
    _, online = await asyncio.to_thread(server.request, "GET", "/api/v1/connected-users/", None, token)
    await ws.close()

    def gone() -> bool:
        _, users = server.request("GET", "/api/v1/connected-users/", token=token)
        return all(user["id"] != user_id for user in users)

    assert (error["code"], error["client_id"]) == ("unknown_type", "\ud800")
    assert ack["client_id"] == "s-1"
    assert [user["connections"] for user in online if user["id"] == user_id] == [1]
    await asyncio.to_thread(wait_until, gone, timeout=10, what="the socket to leave presence")


def raw_socket(server: Server, path: str) -> socket.socket:
    """A WebSocket client that reads nothing until told to: a tiny receive buffer, no reader."""
    conn = socket.socket()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    conn.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    conn.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += conn.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return conn


def read_until_close(conn: socket.socket, timeout: float) -> tuple[int, int | None]:
    """Read (unmasked server) frames until a close frame; return (data frames read, close code); back_chat's
    connect/disconnect frames are not counted."""
    conn.settimeout(timeout)
    buffer, frames = b"", 0
    while True:
        while len(buffer) >= 2:
            length: int | None
            opcode, length, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                length, start = (struct.unpack("!H", buffer[2:4])[0], 4) if len(buffer) >= 4 else (None, 4)
            elif length == 127:
                length, start = (struct.unpack("!Q", buffer[2:10])[0], 10) if len(buffer) >= 10 else (None, 10)
            if length is None or len(buffer) < start + length:
                break
            payload, buffer = buffer[start : start + length], buffer[start + length :]
            if opcode == 0x8:
                return frames, struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            # back_chat's path also says who connects (mtype connect/disconnect): not a message.
            if json.loads(payload).get("mtype") not in {"connect", "disconnect"}:
                frames += 1
        try:
            chunk = conn.recv(1 << 20)
        except (ConnectionResetError, TimeoutError):
            return frames, None
        if not chunk:
            return frames, None
        buffer += chunk


@pytest.mark.parametrize("path", ["/ws/messages", "/ws/messages/"], ids=["back_chat", "new"])
async def test_a_client_that_does_not_read_is_closed_with_1013_while_readers_keep_receiving(server, path):
    """A reader that stopped reading gets 1013 once CHAT_SLOW_READER_LIMIT waits for it, on every
    socket path (back_chat's frames go through ASGI send, the new ones straight to the connection)."""
    slow_id, slow_token = await asyncio.to_thread(server.sign_up, unique("slow"))
    _, token = await asyncio.to_thread(server.sign_up, unique("talker"))
    slow = await asyncio.to_thread(raw_socket, server, f"{path}?token={slow_token}")
    reader = await connect(server, token, path)
    writer = await connect(server, token)
    received: list[int] = []

    async def read() -> None:
        async for raw in reader:
            frame = json.loads(raw)
            if frame.get("type") == "message" or frame.get("mtype") == "message":
                received.append(frame["message"]["id"] if "message" in frame else frame["id"])

    reading = asyncio.get_running_loop().create_task(read())
    closing = f"user {slow_id} that fell too far behind"
    sent: list[int] = []
    while closing not in server.log_path.read_text():
        assert len(sent) < 2000, "the slow reader was never closed"
        sent.append((await post(writer, "x" * 30_000, unique("s")))["id"])
    sent.append((await post(writer, "after the slow reader was closed", unique("s")))["id"])
    frames, code = await asyncio.to_thread(read_until_close, slow, 10)
    await asyncio.to_thread(wait_until, lambda: len(received) == len(sent), timeout=20, what="the reader")

    assert code == 1013
    assert frames < len(sent)
    assert received == sent
    reading.cancel()
    slow.close()
    await reader.close()
    await writer.close()
