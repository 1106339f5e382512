"""Who is connected, shared by every server process: Redis when REDIS_URL is set, the database otherwise.

Every socket is registered as ``<user_id>@<ip>:<port>`` (back_chat's client id) under the process that
holds it. Each process refreshes its own expiry on a heartbeat and sweeps processes whose expiry has
passed, so a killed process's sockets disappear within CHAT_PRESENCE_EXPIRY. ``add``/``remove`` and the
sweep report a user's first socket opening and last socket closing (across all processes), which is
when presence events go out, never once per socket.

The backend is chosen by a dotted path in CHAT_PRESENCE_BACKEND, like Django's pluggable backends.
"""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.utils.module_loading import import_string

from realtime.kernel.process import PROCESS_ID
from realtime.presence.base import Admission, Heartbeat, PresenceBackend, address_of, client_id
from realtime.presence.database_store import DatabasePresence
from realtime.presence.redis_store import RedisPresence

__all__ = [
    "Admission",
    "DatabasePresence",
    "Heartbeat",
    "PresenceBackend",
    "RedisPresence",
    "address_of",
    "client_id",
    "connected_clients",
    "connections_per_user",
    "get_backend",
]


def get_backend(process_id: str = PROCESS_ID) -> PresenceBackend:
    """The store named by CHAT_PRESENCE_BACKEND, for ``process_id``."""
    backend: PresenceBackend = import_string(settings.CHAT_PRESENCE_BACKEND)(process_id=process_id)
    return backend


def connected_clients() -> list[str]:
    """Every live socket in every process, sorted (sync: for REST views)."""
    return sorted(get_backend().clients_sync())


def connections_per_user() -> dict[int, int]:
    """Live sockets per user id, across processes (sync: for REST views)."""
    return dict(Counter(user_of(client) for client in connected_clients()))


def user_of(client: str) -> int:
    """The user id of a client id ``<user_id>@<ip>:<port>``."""
    return int(client.split("@", 1)[0])
