"""Rolling restart under traffic: two daphne replicas on one database and one Redis, restarted one after
the other with SIGTERM (as an orchestrator does), while clients chat over sockets and REST.

Not part of the test run. Clients follow two rooms, half of them on each replica. When a socket closes
(1012 from a replica that shuts down) the client reconnects with ``last_seq`` to whichever replica
accepts, the other one first, as a load balancer would send it. Socket senders resend an unacknowledged
message with the same ``client_id`` after a reconnect, as the web page does; REST senders retry a failed
``POST /api/v1/messages/`` with the same ``client_id`` on the other replica. Each round stops replica A
(SIGTERM, waiting for it to exit), starts it again, then does the same with B.

At the end every receiver catches up, and the run reports: messages sent, acknowledged, stored (each
``client_id`` stored once: nothing repeated), delivered to every receiver (nothing lost), duplicates seen
by clients, the close codes the clients saw, the time each replica took to exit after SIGTERM, and the
reconnect times.

    python -m bench.rolling_restart                      # make rolling-restart
    python -m bench.rolling_restart --rounds 1 --clients 20
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import signal
import statistics
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

from bench.soak import _prepare, _stored
from realtime.tests.e2e import RedisServer, Server

PROJECT_DIR = Path(__file__).resolve().parent.parent
ROOMS = ("general", "soak")


@dataclass
class Stats:
    reconnect_s: list[float] = field(default_factory=list)
    close_codes: Counter[str] = field(default_factory=Counter)
    rest_retries: int = 0


class Replicas:
    """The two replicas; ``order(preferred)``: where a client tries to connect, its preference first."""

    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers

    def order(self, avoid: Server | None) -> list[Server]:
        others = [s for s in self.servers if s is not avoid]
        return others + ([avoid] if avoid is not None else [])


class Client:
    """One socket following a room, on either replica, reconnecting with last_seq."""

    def __init__(self, replicas: Replicas, home: Server, token: str, room: str, stats: Stats) -> None:
        self.replicas, self.home, self.token, self.room, self.stats = replicas, home, token, room, stats
        self.seen: dict[str, int] = {}
        self.duplicates = 0
        self.last_seq = 0
        self.ws: Any = None
        self.connected = asyncio.Event()
        self.acks: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def run(self) -> None:
        disconnected_at: float | None = None
        last: Server | None = None
        targets = [self.home]
        while True:
            for server in targets:
                url = f"{server.ws}/ws/messages/?token={self.token}&room={self.room}&last_seq={self.last_seq}"
                try:
                    async with websockets.connect(url, open_timeout=5) as ws:
                        self.ws, last = ws, server
                        self.connected.set()
                        if disconnected_at is not None:
                            self.stats.reconnect_s.append(time.monotonic() - disconnected_at)
                            disconnected_at = None
                        try:
                            async for raw in ws:
                                self._take(json.loads(raw))
                        finally:
                            self.stats.close_codes[str(ws.close_code)] += 1
                except (OSError, websockets.ConnectionClosed, websockets.InvalidHandshake, TimeoutError):
                    pass
                if self.connected.is_set():
                    disconnected_at = time.monotonic()
                    self.ws = None
                    self.connected.clear()
                    break
            targets = self.replicas.order(avoid=last)  # the other replica first
            await asyncio.sleep(random.uniform(0.0, 0.2))

    def _take(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "ack":
            future = self.acks.pop(frame.get("client_id") or "", None)
            if future and not future.done():
                future.set_result(frame)
            return
        messages: list[Any] = frame["messages"] if frame["type"] == "history" else [frame.get("message")]
        for message in messages if frame["type"] in {"message", "history"} else []:
            if message["content"] in self.seen:
                self.duplicates += 1
            self.seen[message["content"]] = message["seq"]
            self.last_seq = max(self.last_seq, message["seq"])

    async def send_until_acked(self, client_id: str) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            await self.connected.wait()
            future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self.acks[client_id] = future
            try:
                await self.ws.send(json.dumps({"type": "message", "content": client_id, "client_id": client_id}))
                await asyncio.wait_for(future, 5)
                return True
            except Exception:
                # The socket closed under us (a send on a closed socket fails without yielding, and
                # ``connected`` is still set): give the reconnect a turn instead of spinning.
                await asyncio.sleep(0.1)
        return False


def _post(port: int, token: str, room: str, client_id: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"content": client_id, "room": room, "client_id": client_id})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        connection.request("POST", "/api/v1/messages/", body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


async def post_until_stored(replicas: Replicas, token: str, room: str, client_id: str, stats: Stats) -> bool:
    """POST over REST, retrying on the other replica with the same client_id (201, or 200 for a retry)."""
    deadline = time.monotonic() + 60
    avoid: Server | None = None
    while time.monotonic() < deadline:
        for server in replicas.order(avoid):
            try:
                status = await asyncio.to_thread(_post, server.port, token, room, client_id)
            except OSError:
                stats.rest_retries += 1
                avoid = server
                continue
            if status in (200, 201):
                return True
            stats.rest_retries += 1
        await asyncio.sleep(0.2)
    return False


async def rolling_restart(args: argparse.Namespace) -> dict[str, Any]:
    # Blocking calls (REST posts, process starts) each take a thread: never let them queue behind each other.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=64))
    work = Path(tempfile.mkdtemp(prefix="chat-rolling-"))
    redis = RedisServer()
    redis.start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHAT_", "DATABASE_", "REDIS_"))},
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        "DJANGO_SECRET_KEY": uuid.uuid4().hex * 2,
        "DJANGO_LOG_LEVEL": "INFO",
        "CHAT_ACCESS_LOG_LEVEL": "WARNING",
        "DATABASE_URL": args.database_url or f"sqlite:///{work / 'rolling.sqlite3'}",
        "REDIS_URL": redis.url,
        "CHAT_ACCESS_TOKEN_LIFETIME": "12h",
        "CHAT_SOCKET_RATE": "1000",
        "CHAT_SOCKET_BURST": "1000",
        "CHAT_MESSAGE_RATE": "100000/100s",
        "CHAT_MAX_SOCKETS_PER_USER": "100000",
        "CHAT_MAX_SOCKETS_PER_IP": "100000",
        "CHAT_PRESENCE_HEARTBEAT": "2",
        "CHAT_PRESENCE_EXPIRY": "6",
        "CHAT_GROUP_EXPIRY": "10",
        "CHAT_HUB_SYNC_INTERVAL": "1",
        "CHAT_SHUTDOWN_TIMEOUT": str(args.shutdown_timeout),
        "CHAT_JOBS_WORKER": "external",
        "PYTHONUNBUFFERED": "1",
    }
    tokens = await asyncio.to_thread(_prepare, env, args.clients)
    servers = [Server("a", env, work), Server("b", env, work)]
    for server in servers:
        server.start()
    replicas = Replicas(servers)
    stats = Stats()
    clients = [Client(replicas, servers[i % 2], tokens[i], ROOMS[(i // 2) % 2], stats) for i in range(args.clients)]
    tasks = [asyncio.get_running_loop().create_task(client.run()) for client in clients]
    await asyncio.gather(*(asyncio.wait_for(c.connected.wait(), 30) for c in clients))
    sent: list[tuple[str, str]] = []
    acked: set[str] = set()
    began = time.monotonic()
    restarts: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def restart_loop() -> None:
        try:
            await restarts_in_turn()
        finally:
            done.set()  # the senders stop even when a restart failed (its error is raised below)

    async def restarts_in_turn() -> None:
        await asyncio.sleep(args.warmup)
        for round_number in range(args.rounds):
            for server in servers:
                process = server.process
                assert process is not None
                signalled = time.monotonic()
                process.send_signal(signal.SIGTERM)
                # A child process's exit is not awaitable here: poll it, to time the exit to 10 ms.
                while (code := process.poll()) is None and time.monotonic() - signalled < args.shutdown_timeout + 5:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                exited = time.monotonic() - signalled
                server.process = None
                await asyncio.to_thread(server.start)
                restarts.append({
                    "round": round_number + 1,
                    "replica": server.name,
                    "at_s": round(signalled - began, 1),
                    "exit_s": round(exited, 2),
                    "exit_code": code,
                    "back_in_s": round(time.monotonic() - signalled, 2),
                })  # fmt: skip
                await asyncio.sleep(args.pause)
        await asyncio.sleep(args.warmup)

    async def socket_sender(client: Client) -> None:
        while not done.is_set():
            client_id = f"{client.room}:ws:{uuid.uuid4().hex}"
            sent.append((client.room, client_id))
            if await client.send_until_acked(client_id):
                acked.add(client_id)
            await asyncio.sleep(random.expovariate(args.rate))

    async def rest_sender(index: int) -> None:
        token, room = tokens[index], ROOMS[index % 2]
        while not done.is_set():
            client_id = f"{room}:rest:{uuid.uuid4().hex}"
            sent.append((room, client_id))
            if await post_until_stored(replicas, token, room, client_id, stats):
                acked.add(client_id)
            await asyncio.sleep(random.expovariate(args.rate))

    lag = [0.0]

    async def watch_lag() -> None:
        """The load generator's own event-loop lag: a busy machine must not pass for a slow server."""
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.1)
            lag[0] = max(lag[0], time.monotonic() - before - 0.1)

    lag_task = asyncio.get_running_loop().create_task(watch_lag())
    restart_task = asyncio.get_running_loop().create_task(restart_loop())
    await asyncio.gather(
        *(socket_sender(client) for client in clients[: args.senders]),
        *(rest_sender(index) for index in range(args.rest_senders)),
    )
    await restart_task
    await asyncio.sleep(args.catch_up)
    stored = {room: await asyncio.to_thread(_stored, servers[0].port, tokens[0], room) for room in ROOMS}
    for task in [*tasks, lag_task]:
        task.cancel()
    for server in servers:
        server.stop()
    redis.kill()
    by_room = {room: {cid for r, cid in sent if r == room} for room in ROOMS}
    stored_ids = {room: set(contents) for room, contents in stored.items()}
    delivered = [len(set(c.seen) & by_room[c.room]) for c in clients]
    complete = sum(
        1 for c, count in zip(clients, delivered, strict=True) if count == len(stored_ids[c.room] & by_room[c.room])
    )
    return {
        "clients": args.clients,
        "socket_senders": args.senders,
        "rest_senders": args.rest_senders,
        "rounds": args.rounds,
        "duration_s": round(time.monotonic() - began, 1),
        "shutdown_timeout_s": args.shutdown_timeout,
        "restarts": restarts,
        "sent": len(sent),
        "acked": len(acked),
        "stored": sum(len(ids & by_room[room]) for room, ids in stored_ids.items()),
        "stored_twice": sum(len(contents) - len(set(contents)) for contents in stored.values()),
        "acked_not_stored": len(acked - set().union(*stored_ids.values())),
        "receivers_with_everything": f"{complete}/{len(clients)}",
        "duplicates_seen_by_clients": sum(c.duplicates for c in clients),
        "close_codes": dict(stats.close_codes),
        "reconnects": len(stats.reconnect_s),
        "reconnect_p50_s": round(statistics.median(stats.reconnect_s), 3) if stats.reconnect_s else 0.0,
        "reconnect_max_s": round(max(stats.reconnect_s), 3) if stats.reconnect_s else 0.0,
        "rest_retries": stats.rest_retries,
        "load_generator_max_lag_s": round(lag[0], 3),
        "workdir": str(work),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=60, help="sockets, split over 2 replicas and 2 rooms")
    parser.add_argument("--senders", type=int, default=10, help="clients that also send over their socket")
    parser.add_argument("--rest-senders", type=int, default=4)
    parser.add_argument("--rate", type=float, default=4.0, help="messages/s per sender (Poisson)")
    parser.add_argument("--rounds", type=int, default=2, help="each round restarts A, then B")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of traffic before and after")
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between two restarts")
    parser.add_argument("--shutdown-timeout", type=int, default=10)
    parser.add_argument("--catch-up", type=float, default=10.0)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--output", type=Path, default=PROJECT_DIR / "bench" / "results" / "rolling_restart.json")
    args = parser.parse_args(argv)
    result = asyncio.run(rolling_restart(args))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
