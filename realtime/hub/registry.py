"""The sockets of this process, by user and by kind, and the ``Socket`` protocol every piece of the
hub programs against (streams, delivery, unread counting), so that none of them imports another."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Protocol

from core.metrics import SOCKETS_OPEN
from realtime.kernel import Kind


class Socket(Protocol):
    """What the hub needs of a consumer."""

    kind: str  # "messages" or "notifications"
    user_id: int
    username: str
    display_name: str
    client: str  # back_chat's client id, <user_id>@<ip>:<port>
    room_id: int | None  # the room a messages socket follows
    unread: dict[int, int]  # room id -> the unread count this (notification) socket was last told

    def direct(self) -> Any | None:
        """The daphne connection to write prepared broadcast frames to, or None (``deliver`` them)."""

    def too_slow(self) -> None:
        """The client fell CHAT_SLOW_READER_LIMIT behind: close it (1013)."""

    def deliver(self, frame: str) -> None:
        """Queue a broadcast frame for the socket's own ASGI ``send`` (never waits)."""

    async def close_with(self, code: int) -> None: ...


class SocketRegistry:
    """Registered sockets; a broadcast to one kind never scans the others (a burst of N first
    connections announcing presence to every notification socket would cost O(N²))."""

    def __init__(self) -> None:
        self.sockets: set[Socket] = set()
        self.users: dict[int, set[Socket]] = {}
        self.by_kind: defaultdict[str, set[Socket]] = defaultdict(set)
        # Sockets of another kind that also hear what every notification socket hears, through their
        # ``overhear(frame)`` (back_chat's /ws/messages: presence, as connect/disconnect frames).
        self.overhearing: set[Socket] = set()

    def add(self, socket: Socket) -> bool:
        """Register ``socket``; True when it is its user's first socket in this process."""
        mine = self.users.setdefault(socket.user_id, set())
        first = not mine
        if socket not in self.sockets:
            SOCKETS_OPEN.labels(kind=socket.kind).inc()
        mine.add(socket)
        self.sockets.add(socket)
        self.by_kind[socket.kind].add(socket)
        if getattr(socket, "overhears_notifications", False):
            self.overhearing.add(socket)
        return first

    def remove(self, socket: Socket) -> bool:
        """Forget ``socket`` (if registered); True when its user has no socket left in this process."""
        if socket not in self.sockets:
            return False
        self.sockets.discard(socket)
        self.by_kind[socket.kind].discard(socket)
        self.overhearing.discard(socket)
        SOCKETS_OPEN.labels(kind=socket.kind).dec()
        mine = self.users.get(socket.user_id)
        if mine is not None:
            mine.discard(socket)
            if not mine:
                del self.users[socket.user_id]
                return True
        return False

    def __contains__(self, socket: object) -> bool:
        return socket in self.sockets

    def of_user(self, user_id: int, kind: Kind = "all") -> set[Socket]:
        sockets = self.users.get(user_id, set())
        return sockets if kind == "all" else {s for s in sockets if s.kind == kind}

    def of_kind(self, kind: Kind) -> set[Socket]:
        return self.sockets if kind == "all" else self.by_kind.get(kind, set())
