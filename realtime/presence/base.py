"""What every presence store shares: client ids, the answers of ``admit`` and ``heartbeat``, and the
``PresenceBackend`` protocol a store implements."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

UNKNOWN_HOST = "unknown"


def client_id(user_id: int, client: Sequence[Any] | None) -> str:
    """back_chat's client id: ``<user_id>@<ip>:<port>``."""
    host, port = (client[0], client[1]) if client else (UNKNOWN_HOST, 0)
    return f"{user_id}@{host}:{port}"


def address_of(client: str) -> str | None:
    """The IP address of a client id (``7@10.0.0.5:51234`` -> ``10.0.0.5``); None when the server was
    not told (a Unix socket without proxy headers), so that unknown clients are not lumped together."""
    host = client.split("@", 1)[-1].rsplit(":", 1)[0]
    return None if host == UNKNOWN_HOST else host


class Admission(enum.Enum):
    """What ``admit`` did with a new socket."""

    FIRST = "first"  # registered; the user's first socket anywhere
    ANOTHER = "another"  # registered; the user had sockets already
    REFUSED = "refused"  # not registered: the user has CHAT_MAX_SOCKETS_PER_USER sockets already


@dataclass
class Heartbeat:
    """What a heartbeat learnt: whether this process was still registered, and who went offline."""

    was_registered: bool
    offline_user_ids: list[int] = field(default_factory=list)


class PresenceBackend(Protocol):
    async def admit(self, *, client: str, user_id: int, limit: int) -> Admission: ...  # add, unless at limit
    async def add(self, *, client: str, user_id: int) -> bool: ...  # True: the user's first socket
    async def remove(self, *, client: str, user_id: int) -> bool: ...  # True: the user's last socket
    async def heartbeat(self) -> Heartbeat: ...
    async def close(self) -> None: ...
    def clients_sync(self) -> list[str]: ...
