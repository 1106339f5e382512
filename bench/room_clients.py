"""What the fault runs (``bench.soak``, ``bench.rolling_restart``) share: the servers' environment, the
database they prepare, a socket client that follows a room across reconnects, its sender loop, and the
count of what was stored. Each run differs only in its faults and in where a client reconnects."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

from realtime.tests.e2e import Server

PROJECT_DIR = Path(__file__).resolve().parent.parent
ROOMS = ("general", "soak")


def server_env(*, database_url: str, redis_url: str, **overrides: str) -> dict[str, str]:
    """The environment of the runs' daphne processes: this one's, without its project settings, plus
    limits no test client trips, short presence and group expiries, and ``overrides``."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHAT_", "DATABASE_", "REDIS_"))}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        "DJANGO_SECRET_KEY": uuid.uuid4().hex * 2,
        "DJANGO_LOG_LEVEL": "WARNING",
        "CHAT_ACCESS_LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
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
        **overrides,
    }


def prepare(env: dict[str, str], clients: int) -> list[str]:
    """Migrate the database, create the users (their tokens) and the second room."""
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


def get_json(port: int, path: str, token: str) -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def stored_contents(port: int, token: str, room: str) -> list[str]:
    """Every stored message's content in ``room``, in seq order (a repeat: stored twice)."""
    contents, after = [], 0
    while True:
        page = get_json(port, f"/api/v1/messages/?room={room}&after={after}&limit=100", token)
        contents += [message["content"] for message in page["results"]]
        if not page["next"]:
            return contents
        after = page["results"][-1]["seq"]


@dataclass
class Stats:
    reconnect_s: list[float] = field(default_factory=list)  # socket closed -> open again
    close_codes: Counter[str] = field(default_factory=Counter)


class RoomClient:
    """One socket following a room, reconnecting with ``last_seq`` whenever it closes; counts messages
    by content (a repeat is a duplicate). ``targets`` says where to (re)connect, in order."""

    # Seconds to wait, at random in this range, before trying the targets again.
    retry_pause = (0.1, 0.5)

    def __init__(self, token: str, room: str, stats: Stats) -> None:
        self.token, self.room, self.stats = token, room, stats
        self.seen: dict[str, int] = {}
        self.duplicates = 0
        self.last_seq = 0
        self.ws: Any = None
        self.connected = asyncio.Event()
        self.acks: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def targets(self, last: Server | None, attempt: int) -> list[Server]:
        """The servers to try, in order, on ``attempt`` (0: the first), ``last`` being the one that served
        the socket that just closed (None before the first)."""
        raise NotImplementedError

    async def run(self) -> None:
        disconnected_at: float | None = None
        last: Server | None = None
        for attempt in range(sys.maxsize):
            for server in self.targets(last, attempt):
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
            await asyncio.sleep(random.uniform(*self.retry_pause))

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


async def send_loop(
    *,
    room: str,
    label: str,
    deliver: Callable[[str], Awaitable[bool]],
    rate: float,
    running: Callable[[], bool],
    sent: list[tuple[str, str]],
    acked: set[str],
) -> None:
    """While ``running()``: a new message (``<room>:<label><uuid>``, its content and client id) handed to
    ``deliver``, which retries until it is acknowledged or gives up (False), then a Poisson pause
    (``rate`` per second). ``sent`` gets (room, client id), ``acked`` the acknowledged ids."""
    while running():
        client_id = f"{room}:{label}{uuid.uuid4().hex}"
        sent.append((room, client_id))
        if await deliver(client_id):
            acked.add(client_id)
        await asyncio.sleep(random.expovariate(rate))


def write_result(path: Path, result: dict[str, Any]) -> None:
    """Write a run's result as JSON to ``path`` (its folder made) and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
