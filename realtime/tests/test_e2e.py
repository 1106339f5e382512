"""Two real daphne processes sharing one database and one Redis, driven by a real WebSocket client.

Skipped with a reason when redis-server is not installed (failed instead under CHAT_REQUIRE_SERVICES).
The database is a SQLite file, or a fresh PostgreSQL database when the suite runs on PostgreSQL: the
test database of pytest-django lives in this process only and other processes cannot see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid

import pytest
import websockets

from realtime.tests.e2e import Server, unique, wait_until
from realtime.tests.e2e_cluster import connect, follow, live, next_frame, next_message, next_presence

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.timeout(300)]
# How long a test waits for a condition the settings bound to a few seconds: far more, for a loaded machine.
DEADLINE = 60.0


async def test_a_message_sent_to_one_process_reaches_a_client_on_the_other(cluster, people):
    _, ana_token = people["ana"]
    _, ben_token = people["ben"]
    sender = await connect(cluster["a"], ana_token)
    receiver = await follow(cluster["b"], ben_token)

    await sender.send(json.dumps({"type": "message", "content": "across processes", "client_id": "x1"}))
    ack = await next_frame(sender, "ack")
    message = await next_message(receiver)

    assert message["id"] == ack["id"]
    assert message["content"] == "across processes"
    await sender.close()
    await receiver.close()


async def test_presence_on_one_process_lists_a_user_connected_to_the_other(cluster, people):
    ben_id, ben_token = people["ben"]
    _, ana_token = people["ana"]
    ben_on_b = await connect(cluster["b"], ben_token)

    def listed() -> bool:
        _, users = cluster["a"].request("GET", "/api/v1/connected-users/", token=ana_token)
        return any(user["id"] == ben_id for user in users)

    await asyncio.to_thread(wait_until, listed, timeout=5, what="ben in A's presence")
    _, clients = cluster["a"].request("GET", "/connected_users", token=ana_token)
    assert any(client.startswith(f"{ben_id}@127.0.0.1:") for client in clients["clients"])
    await ben_on_b.close()


async def test_many_sockets_opening_and_closing_leave_no_stale_group_members(cluster, people, redis_server):
    tokens = [token for _, token in people.values()]
    prefix = cluster["a"].env["CHAT_LAYER_PREFIX"]

    async def churn(index: int) -> None:
        ws = await connect(cluster["a"], tokens[index % len(tokens)], room="general")
        await ws.close()

    for wave in range(5):
        await asyncio.gather(*(churn(wave * 100 + i) for i in range(100)))

    def settled() -> bool:
        sizes = redis_server.group_sizes(prefix)
        return all(count == 0 for group, count in sizes.items() if group != "chat.everyone")

    await asyncio.to_thread(wait_until, settled, timeout=10, what="room and user groups to empty")
    assert redis_server.group_sizes(prefix)["chat.everyone"] == 2  # one subscription per process
    _, clients = cluster["a"].request("GET", "/connected_users", token=tokens[0])
    assert clients["clients"] == []


async def test_a_killed_process_leaves_presence_and_groups_within_the_expiry(cluster, people, tmp_path, redis_server):
    """Every wait is for a condition, with a deadline far above the settings' bound (expiry 2 s plus a
    heartbeat of 0.5 s; groups 3 s): a loaded machine only makes it pass later, never fail."""
    cid_id, cid_token = people["cid"]
    _, ana_token = people["ana"]
    doomed = Server(name="doomed", env=cluster["a"].env, log_dir=tmp_path)

    def connected(token: str) -> set[int]:
        _, users = cluster["a"].request("GET", "/api/v1/connected-users/", token=token)
        return {user["id"] for user in users}

    doomed.start()
    watcher = cid_socket = None
    try:
        watcher = await connect(cluster["a"], ana_token, "/ws/notifications/")
        await live(watcher)  # subscribed before cid comes, so it hears cid come online
        cid_socket = await connect(doomed, cid_token)
        await next_presence(watcher, cid_id, "online", timeout=DEADLINE)

        doomed.kill()
        await next_presence(watcher, cid_id, "offline", timeout=DEADLINE)
        await asyncio.to_thread(wait_until, lambda: cid_id not in connected(ana_token), timeout=DEADLINE, what="cid")

        # Its hub stopped renewing its group memberships: they lapse after CHAT_GROUP_EXPIRY, and
        # channels-redis trims a group when something is sent to it: a public room announced to everyone.
        prefix = cluster["a"].env["CHAT_LAYER_PREFIX"]

        def trimmed() -> bool:
            slug = unique("poke")
            cluster["a"].request("POST", "/api/v1/rooms/", {"name": slug, "slug": slug}, token=ana_token)
            return bool(redis_server.group_sizes(prefix).get("chat.everyone") == 2)

        await asyncio.to_thread(wait_until, trimmed, timeout=DEADLINE, interval=0.5, what="the dead process's groups")
    finally:
        doomed.stop()
        for socket in (watcher, cid_socket):
            if socket is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(socket.close(), DEADLINE)


async def test_a_redis_restart_during_traffic_loses_and_duplicates_nothing(cluster, people, redis_server):
    _, ana_token = people["ana"]
    _, ben_token = people["ben"]
    room = unique("restart")
    status, _ = cluster["a"].request("POST", "/api/v1/rooms/", {"name": room, "slug": room}, token=ana_token)
    assert status == 201
    receivers = {name: Receiver(cluster[name], ben_token, room) for name in ("a", "b")}
    for receiver in receivers.values():
        await receiver.start()
    sender = await connect(cluster["a"], ana_token, room=room)
    acked: dict[str, int] = {}

    async def send_batch(count: int) -> None:
        for _ in range(count):
            client_id = uuid.uuid4().hex
            await sender.send(json.dumps({"type": "message", "content": client_id, "client_id": client_id}))
            ack = await next_frame(sender, "ack", timeout=10)
            acked[ack["client_id"]] = ack["seq"]
            await asyncio.sleep(0.01)

    await send_batch(50)
    redis_server.kill()
    await send_batch(50)  # Redis is down: messages are still stored and acknowledged
    redis_server.start()
    await send_batch(50)

    stored = await asyncio.to_thread(stored_contents, cluster["a"], ana_token, room)
    for receiver in receivers.values():
        await receiver.catch_up(expected=len(acked), timeout=20)
    await sender.close()

    print(
        f"\nredis restart: sent 150, acked {len(acked)}, stored {len(stored)}, "
        + ", ".join(
            f"delivered to {name} {len(r.seen)} (reconnects {r.reconnects}, duplicates {r.duplicates})"
            for name, r in receivers.items()
        )
    )
    assert len(acked) == 150
    assert sorted(stored) == sorted(acked)
    for receiver in receivers.values():
        assert receiver.duplicates == 0
        assert sorted(receiver.seen) == sorted(acked)
        await receiver.stop()


def stored_contents(server: Server, token: str, room: str) -> list[str]:
    contents, after = [], 0
    while True:
        status, page = server.request("GET", f"/api/v1/messages/?room={room}&after={after}&limit=100", token=token)
        assert status == 200, page
        contents += [message["content"] for message in page["results"]]
        if not page["next"]:
            return contents
        after = page["results"][-1]["seq"]


class Receiver:
    """A client that follows a room, reconnects with last_seq whenever its socket closes, and counts
    every message it sees (by content, which is unique per message)."""

    def __init__(self, server: Server, token: str, room: str) -> None:
        self.server, self.token, self.room = server, token, room
        self.seen: dict[str, int] = {}
        self.duplicates = 0
        self.reconnects = 0
        self.last_seq = 0
        self.task: asyncio.Task | None = None
        self.arrived = asyncio.Event()

    async def start(self) -> None:
        """Connect (from the room's current seq), then read and reconnect in the background."""
        first = await follow(self.server, self.token, self.room)
        self.task = asyncio.get_running_loop().create_task(self._run(first))

    async def _run(self, ws) -> None:
        while True:
            try:
                if ws is None:
                    ws = await connect(self.server, self.token, room=self.room, last_seq=self.last_seq)
                async with ws:
                    async for raw in ws:
                        self._take(json.loads(raw))
            except (OSError, websockets.ConnectionClosed, TimeoutError):
                pass
            ws = None
            self.reconnects += 1
            await asyncio.sleep(0.2)

    def _take(self, frame: dict) -> None:
        if frame["type"] not in {"message", "history"}:
            return
        messages = frame["messages"] if frame["type"] == "history" else [frame["message"]]
        for message in messages:
            if message["content"] in self.seen:
                self.duplicates += 1
            self.seen[message["content"]] = message["seq"]
            self.last_seq = max(self.last_seq, message["seq"])
            self.arrived.set()

    async def catch_up(self, *, expected: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.seen) < expected and time.monotonic() < deadline:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), deadline - time.monotonic())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()


async def test_tokens_never_appear_in_the_server_logs(cluster, people):
    tokens = [token for _, token in people.values()]

    logs = "".join(server.log_path.read_text() for server in cluster.values())

    assert "WSCONNECT /ws/messages/" in logs or "/ws/messages/" in logs  # the access log is on
    assert not any(token in logs for token in tokens)
