"""Who is connected, shared by every server process: Redis when REDIS_URL is set, the database otherwise.

Every socket is registered as ``<user_id>@<ip>:<port>`` (back_chat's client id) under the process that
holds it. Each process refreshes its own expiry on a heartbeat and sweeps processes whose expiry has
passed, so a killed process's sockets disappear within CHAT_PRESENCE_EXPIRY. ``add``/``remove`` and the
sweep report a user's first socket opening and last socket closing (across all processes), which is
when presence events go out, never once per socket.

The backend is chosen by a dotted path in CHAT_PRESENCE_BACKEND, like Django's pluggable backends.
"""

from __future__ import annotations

import enum
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from realtime.process import PROCESS_ID

UNKNOWN_HOST = "unknown"


def client_id(user_id: int, client: tuple[str, int] | list | None) -> str:
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


def get_backend(process_id: str = PROCESS_ID) -> PresenceBackend:
    return import_string(settings.CHAT_PRESENCE_BACKEND)(process_id=process_id)


def connected_clients() -> list[str]:
    """Every live socket in every process, sorted (sync: for REST views)."""
    return sorted(get_backend().clients_sync())


def connections_per_user() -> dict[int, int]:
    """Live sockets per user id, across processes (sync: for REST views)."""
    return dict(Counter(int(client.split("@", 1)[0]) for client in connected_clients()))


# --- Redis --------------------------------------------------------------------------------------------

# ARGV[5]: the most sockets the user may have (0: no limit); -1 when the socket is refused for it.
_ADD = """
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 0 end
local limit = tonumber(ARGV[5])
if limit > 0 and tonumber(redis.call('HGET', KEYS[3], ARGV[3]) or '0') >= limit then return -1 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
if redis.call('HINCRBY', KEYS[3], ARGV[3], 1) == 1 then return 1 end
return 0
"""
_REMOVE = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
  return 1
end
return 0
"""
_HEARTBEAT = """
local registered = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local offline = {}
for _, pid in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])) do
  local key = ARGV[4] .. pid
  local entries = redis.call('HGETALL', key)
  for i = 2, #entries, 2 do
    if redis.call('HINCRBY', KEYS[2], entries[i], -1) <= 0 then
      redis.call('HDEL', KEYS[2], entries[i])
      table.insert(offline, entries[i])
    end
  end
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[1], pid)
end
if registered then return {1, offline} end
return {0, offline}
"""


class RedisPresence:
    """Presence in Redis: a hash of sockets per process, a sorted set of process expiries, and a
    per-user socket count, all changed by Lua scripts so concurrent processes never race."""

    def __init__(self, *, process_id: str, url: str | None = None) -> None:
        self.process_id = process_id
        self.url = url or settings.REDIS_URL
        base = f"{settings.CHAT_LAYER_PREFIX}:presence"
        self.procs_key, self.users_key, self.proc_prefix = f"{base}:procs", f"{base}:users", f"{base}:proc:"
        self.proc_key = self.proc_prefix + process_id
        self._client = None

    def _async_client(self):  # type: ignore[no-untyped-def]
        if self._client is None:
            import redis.asyncio as aioredis

            timeout = settings.CHAT_LAYER_TIMEOUT
            self._client = aioredis.from_url(
                self.url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                max_connections=settings.CHAT_REDIS_POOL_SIZE,
            )
            self._add = self._client.register_script(_ADD)
            self._remove = self._client.register_script(_REMOVE)
            self._heartbeat = self._client.register_script(_HEARTBEAT)
        return self._client

    def _expires_at(self) -> float:
        return time.time() + settings.CHAT_PRESENCE_EXPIRY

    async def admit(self, *, client: str, user_id: int, limit: int) -> Admission:
        self._async_client()
        keys = [self.procs_key, self.proc_key, self.users_key]
        added = await self._add(keys=keys, args=[self.process_id, client, user_id, self._expires_at(), limit])
        return {1: Admission.FIRST, 0: Admission.ANOTHER}.get(int(added), Admission.REFUSED)

    async def add(self, *, client: str, user_id: int) -> bool:
        return await self.admit(client=client, user_id=user_id, limit=0) is Admission.FIRST

    async def remove(self, *, client: str, user_id: int) -> bool:
        self._async_client()
        return bool(await self._remove(keys=[self.proc_key, self.users_key], args=[client, user_id]))

    async def heartbeat(self) -> Heartbeat:
        self._async_client()
        args = [self.process_id, self._expires_at(), time.time(), self.proc_prefix]
        registered, offline = await self._heartbeat(keys=[self.procs_key, self.users_key], args=args)
        return Heartbeat(bool(registered), [int(uid) for uid in offline])

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def clients_sync(self) -> list[str]:
        import redis

        timeout = settings.CHAT_LAYER_TIMEOUT
        client = redis.Redis.from_url(self.url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            live = client.zrangebyscore(self.procs_key, time.time(), "+inf")
            pipe = client.pipeline()
            for pid in live:
                pipe.hkeys(self.proc_prefix + pid.decode())
            return [key.decode() for keys in pipe.execute() for key in keys]
        finally:
            client.close()


# --- Database -----------------------------------------------------------------------------------------


class DatabasePresence:
    """Presence in two tables, for deployments without Redis (one process, or a shared database)."""

    def __init__(self, *, process_id: str) -> None:
        self.process_id = process_id

    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)

    def _expiry(self) -> datetime:
        return self._now() + timedelta(seconds=settings.CHAT_PRESENCE_EXPIRY)

    @staticmethod
    def _lock_user(user_id: int) -> None:
        """Serialize presence changes of one user, so that concurrent first sockets (or last
        sockets) on PostgreSQL cannot each see only their own row. (SQLite serializes writers.)"""
        from users.models import User

        list(User.objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True))

    def _live_count(self, user_id: int) -> int:
        from realtime.models import PresenceConnection

        return PresenceConnection.objects.filter(user_id=user_id, process__expires_at__gte=self._now()).count()

    def admit_sync(self, *, client: str, user_id: int, limit: int = 0) -> Admission:
        """Register a socket unless its user has ``limit`` live sockets already (0: no limit)."""
        from realtime.models import PresenceConnection, PresenceProcess

        for _attempt in range(2):
            try:
                with transaction.atomic():
                    self._lock_user(user_id)
                    live = self._live_count(user_id)
                    if limit and live >= limit:
                        return Admission.REFUSED
                    PresenceConnection.objects.create(process_id=self.process_id, client=client, user_id=user_id)
                    return Admission.ANOTHER if live else Admission.FIRST
            except IntegrityError:
                # Either this socket is registered already, or our process row is missing (first
                # socket, or expired by another process): renew the row once and try again.
                if PresenceConnection.objects.filter(process_id=self.process_id, client=client).exists():
                    return Admission.ANOTHER
                PresenceProcess.objects.update_or_create(pk=self.process_id, defaults={"expires_at": self._expiry()})
        return Admission.ANOTHER  # the user was deleted meanwhile

    def add_sync(self, *, client: str, user_id: int) -> bool:
        return self.admit_sync(client=client, user_id=user_id) is Admission.FIRST

    def remove_sync(self, *, client: str, user_id: int) -> bool:
        from realtime.models import PresenceConnection

        with transaction.atomic():
            self._lock_user(user_id)
            deleted, _ = PresenceConnection.objects.filter(process_id=self.process_id, client=client).delete()
            return bool(deleted) and self._live_count(user_id) == 0

    def heartbeat_sync(self) -> Heartbeat:
        from realtime.models import PresenceConnection, PresenceProcess

        with transaction.atomic():
            _, created = PresenceProcess.objects.update_or_create(
                pk=self.process_id, defaults={"expires_at": self._expiry()}
            )
            dead = PresenceProcess.objects.filter(expires_at__lt=self._now())
            affected = set(PresenceConnection.objects.filter(process__in=dead).values_list("user_id", flat=True))
            dead.delete()
            still_here = set(
                PresenceConnection.objects.filter(
                    user_id__in=affected, process__expires_at__gte=self._now()
                ).values_list("user_id", flat=True)
            )
        return Heartbeat(not created, sorted(affected - still_here))

    async def admit(self, *, client: str, user_id: int, limit: int) -> Admission:
        return await database_sync_to_async(self.admit_sync)(client=client, user_id=user_id, limit=limit)

    async def add(self, *, client: str, user_id: int) -> bool:
        return await database_sync_to_async(self.add_sync)(client=client, user_id=user_id)

    async def remove(self, *, client: str, user_id: int) -> bool:
        return await database_sync_to_async(self.remove_sync)(client=client, user_id=user_id)

    async def heartbeat(self) -> Heartbeat:
        return await database_sync_to_async(self.heartbeat_sync)()

    async def close(self) -> None:
        return None

    def clients_sync(self) -> list[str]:
        from realtime.models import PresenceConnection

        live = PresenceConnection.objects.filter(process__expires_at__gte=self._now())
        return list(live.values_list("client", flat=True))
