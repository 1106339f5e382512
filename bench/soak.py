"""Soak and fault run: mixed traffic on two daphne processes, a Redis restart and a kill -9 in the middle.

Not part of the test run (it takes minutes). Two daphne processes share a database and a private
redis-server (so that it can be killed). Clients follow two rooms on both processes, reconnect with
``last_seq`` whenever their socket closes, and senders resend unacknowledged messages with the same
``client_id`` after a reconnect, as the web page does. A third of the way in, Redis is killed and
restarted; two thirds in, process B is killed with SIGKILL and started again. At the end every
receiver catches up, and the run reports: sent, acknowledged, stored, delivered after catch-up (per
receiver, they must all match), duplicates, reconnect time p95, and each process's memory at the start
and the end of the run.

    python -m bench.soak --minutes 10          # make soak
    python -m bench.soak --minutes 1 --quick    # a short smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

from bench import procfs
from realtime.tests.e2e import RedisServer, Server

PROJECT_DIR = Path(__file__).resolve().parent.parent
ROOMS = ("general", "soak")


def _rss_mib(server: Server) -> float:
    return procfs.rss_bytes([server.process.pid]) / 2**20 if server.process else 0.0


def _get(port: int, path: str, token: str | None = None) -> Any:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    return json.loads(body) if token else response.status


class Client:
    """One socket following a room, reconnecting with last_seq; counts messages by content."""

    def __init__(self, process: Server, token: str, room: str, stats: Stats) -> None:
        self.process, self.token, self.room, self.stats = process, token, room, stats
        self.seen: dict[str, int] = {}
        self.duplicates = 0
        self.last_seq = 0
        self.ws: Any = None
        self.connected = asyncio.Event()
        self.acks: dict[str, asyncio.Future] = {}

    async def run(self) -> None:
        disconnected_at: float | None = None
        while True:
            try:
                url = f"ws://127.0.0.1:{self.process.port}/ws/messages/?token={self.token}&room={self.room}"
                async with websockets.connect(f"{url}&last_seq={self.last_seq}", open_timeout=5) as ws:
                    self.ws = ws
                    self.connected.set()
                    if disconnected_at is not None:
                        self.stats.reconnect_s.append(time.monotonic() - disconnected_at)
                        disconnected_at = None
                    async for raw in ws:
                        self._take(json.loads(raw))
            except (OSError, websockets.ConnectionClosed, TimeoutError):
                pass
            if self.connected.is_set():
                disconnected_at = time.monotonic()
            self.ws = None
            self.connected.clear()
            await asyncio.sleep(random.uniform(0.1, 0.5))

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
        """Send, and resend after each reconnect, until the server acknowledges (idempotent)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            await self.connected.wait()
            future = asyncio.get_running_loop().create_future()
            self.acks[client_id] = future
            try:
                await self.ws.send(json.dumps({"type": "message", "content": client_id, "client_id": client_id}))
                await asyncio.wait_for(future, 5)
                return True
            except Exception:
                await asyncio.sleep(0.1)  # closed under us: let the reconnect run (a failed send does not yield)
        return False


@dataclass
class Stats:
    reconnect_s: list[float] = field(default_factory=list)  # socket closed -> open again


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="chat-soak-"))
    redis = RedisServer()
    redis.start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHAT_", "DATABASE_", "REDIS_"))},
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        "DJANGO_SECRET_KEY": uuid.uuid4().hex * 2,
        "DJANGO_LOG_LEVEL": "WARNING",
        "CHAT_ACCESS_LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"sqlite:///{work / 'soak.sqlite3'}",
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
        "PYTHONUNBUFFERED": "1",
    }
    tokens = await asyncio.to_thread(_prepare, env, args.clients)
    processes = [Server("a", env, work), Server("b", env, work)]
    for process in processes:
        process.start()
    memory: dict[str, dict[str, float]] = {p.name: {"idle_mib": round(_rss_mib(p), 1)} for p in processes}
    stats = Stats()
    clients = [Client(processes[i % 2], tokens[i], ROOMS[(i // 2) % 2], stats) for i in range(args.clients)]
    tasks = [asyncio.get_running_loop().create_task(client.run()) for client in clients]
    await asyncio.gather(*(asyncio.wait_for(c.connected.wait(), 30) for c in clients))
    senders = clients[: args.senders]
    sent: list[tuple[str, str]] = []
    acked: set[str] = set()
    duration = args.minutes * 60
    began = time.monotonic()
    events: list[str] = []

    async def faults() -> None:
        # "start": once every socket is open and traffic has run a while (warm caches), before faults.
        await asyncio.sleep(duration / 10)
        for process in processes:
            memory[process.name]["start_mib"] = round(_rss_mib(process), 1)
        await asyncio.sleep(duration / 3 - duration / 10)
        events.append(f"{time.monotonic() - began:.0f}s: redis-server killed")
        redis.kill()
        await asyncio.sleep(5)
        redis.start()
        events.append(f"{time.monotonic() - began:.0f}s: redis-server started again (empty)")
        await asyncio.sleep(duration / 3 - 5)
        events.append(f"{time.monotonic() - began:.0f}s: process b killed with SIGKILL")
        processes[1].kill()
        await asyncio.sleep(2)
        await asyncio.to_thread(processes[1].start)
        memory["b"]["restarted_mib"] = round(_rss_mib(processes[1]), 1)
        events.append(f"{time.monotonic() - began:.0f}s: process b started again")

    async def send_loop(client: Client) -> None:
        while time.monotonic() - began < duration:
            client_id = f"{client.room}:{uuid.uuid4().hex}"
            sent.append((client.room, client_id))
            if await client.send_until_acked(client_id):
                acked.add(client_id)
            await asyncio.sleep(random.expovariate(args.rate))

    fault_task = asyncio.get_running_loop().create_task(faults())
    await asyncio.gather(*(send_loop(client) for client in senders))
    await fault_task
    memory_end = {p.name: round(_rss_mib(p), 1) for p in processes}
    await asyncio.sleep(args.catch_up)
    stored = {room: set(await asyncio.to_thread(_stored, processes[0].port, tokens[0], room)) for room in ROOMS}
    for task in tasks:
        task.cancel()
    for process in processes:
        process.stop()
    redis.kill()
    by_room = {room: {cid for r, cid in sent if r == room} for room in ROOMS}
    receivers: list[dict[str, Any]] = [
        {"room": c.room, "delivered": len(set(c.seen) & by_room[c.room]), "duplicates": c.duplicates} for c in clients
    ]
    complete = sum(1 for c, r in zip(clients, receivers, strict=True) if r["delivered"] == len(stored[c.room]))
    return {
        "minutes": args.minutes,
        "clients": args.clients,
        "senders": args.senders,
        "events": events,
        "sent": len(sent),
        "acked": len(acked),
        "stored": sum(len(ids & by_room[room]) for room, ids in stored.items()),
        "receivers_with_everything": f"{complete}/{len(clients)}",
        "min_delivered_share": min(r["delivered"] / max(1, len(stored[r["room"]])) for r in receivers),
        "duplicates": sum(r["duplicates"] for r in receivers),
        "reconnects": len(stats.reconnect_s),
        "reconnect_p95_s": round(_p95(stats.reconnect_s), 2),
        "memory_mib": {name: {**memory[name], "end_mib": memory_end[name]} for name in memory},
        "workdir": str(work),
    }


def _prepare(env: dict[str, str], clients: int) -> list[str]:
    """Migrate the database, create the users (tokens) and the second room."""
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=PROJECT_DIR, env=env, check=True,
                   capture_output=True)  # fmt: skip
    make = [sys.executable, "-m", "bench.make_users", "--count", str(clients)]
    tokens = json.loads(subprocess.run(make, cwd=PROJECT_DIR, env=env, check=True, capture_output=True,
                                       text=True).stdout.splitlines()[-1])  # fmt: skip
    setup = [
        sys.executable,
        "manage.py",
        "shell",
        "-c",
        "from messaging.models import Room; Room.objects.get_or_create(slug='soak', defaults={'name': 'Soak'})",
    ]
    subprocess.run(setup, cwd=PROJECT_DIR, env=env, check=True, capture_output=True)
    return tokens


def _stored(port: int, token: str, room: str) -> list[str]:
    contents, after = [], 0
    while True:
        page = _get(port, f"/api/v1/messages/?room={room}&after={after}&limit=100", token)
        contents += [message["content"] for message in page["results"]]
        if not page["next"]:
            return contents
        after = page["results"][-1]["seq"]


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=80, help="sockets, split over 2 processes and 2 rooms")
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--rate", type=float, default=2.0, help="messages/s per sender (Poisson)")
    parser.add_argument("--catch-up", type=float, default=15.0, help="seconds left for reconnects to catch up")
    parser.add_argument("--output", type=Path, default=PROJECT_DIR / "bench" / "results" / "soak.json")
    args = parser.parse_args(argv)
    result = asyncio.run(soak(args))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
