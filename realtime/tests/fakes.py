"""Stand-ins for the hub's unit tests: a socket that records what it is given, a channel layer in
memory that can be made to fail, and an event recorder on the kernel's outbox."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from typing import Any

_clients = itertools.count(1)


class FakeSocket:
    """What ``realtime.hub.Socket`` asks of a consumer; on the ASGI path (no direct connection)."""

    def __init__(self, user_id: int = 1, kind: str = "messages", room_id: int | None = None, client: str = "") -> None:
        self.kind, self.user_id, self.room_id = kind, user_id, room_id
        self.username, self.display_name = f"user{user_id}", f"User {user_id}"
        self.client = client or f"{user_id}@127.0.0.1:{next(_clients)}"
        self.unread: dict[int, int] = {}
        self.delivered: list[str] = []
        self.closed: list[int] = []
        self.slow = 0

    def direct(self) -> Any | None:
        return None

    def too_slow(self) -> None:
        self.slow += 1

    def deliver(self, frame: str) -> None:
        self.delivered.append(frame)

    async def close_with(self, code: int) -> None:
        self.closed.append(code)

    def __repr__(self) -> str:
        return f"FakeSocket({self.user_id}, {self.kind})"


class FakeLayer:
    """Groups and channels in memory; ``down`` makes every call fail like an unreachable Redis."""

    def __init__(self) -> None:
        self.groups: defaultdict[str, set[str]] = defaultdict(set)
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.calls: list[tuple[str, str]] = []
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise ConnectionError("Redis is down")

    async def new_channel(self, prefix: str = "specific.") -> str:
        return f"{prefix}.channel"

    async def group_add(self, group: str, channel: str) -> None:
        self.calls.append(("add", group))
        self._check()
        self.groups[group].add(channel)

    async def group_discard(self, group: str, channel: str) -> None:
        self.calls.append(("discard", group))
        self._check()
        self.groups[group].discard(channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self._check()
        self.sent.append((group, message))

    async def receive(self, channel: str) -> dict[str, Any]:
        message = await self.inbox.get()
        self._check()
        return message


async def settle(turns: int = 10) -> None:
    """Let the loop run the tasks that are ready (no timing: a fixed number of turns)."""
    for _ in range(turns):
        await asyncio.sleep(0)


async def eventually(condition: Any, *, timeout: float = 5.0) -> None:
    """Wait until ``condition()`` holds (polling the loop), or fail after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110  (a condition of plain state, no event to wait on)
            await asyncio.sleep(0.01)
