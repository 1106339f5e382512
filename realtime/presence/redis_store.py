"""Presence in Redis (the store when REDIS_URL is set): Lua scripts, so concurrent processes never race."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NamedTuple, cast

from django.conf import settings

from realtime.batching import Coalescer
from realtime.presence.base import Admission, Heartbeat

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

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


class _Scripts(NamedTuple):
    add: AsyncScript
    remove: AsyncScript
    heartbeat: AsyncScript


class RedisPresence:
    """Presence in Redis: a hash of sockets per process, a sorted set of process expiries, and a
    per-user socket count, all changed by Lua scripts so concurrent processes never race."""

    def __init__(self, *, process_id: str, url: str | None = None) -> None:
        self.process_id = process_id
        self.url = url or settings.REDIS_URL
        base = f"{settings.CHAT_LAYER_PREFIX}:presence"
        self.procs_key, self.users_key, self.proc_prefix = f"{base}:procs", f"{base}:users", f"{base}:proc:"
        self.proc_key = self.proc_prefix + process_id
        self._client: Redis | None = None
        self._scripts: _Scripts | None = None
        # A connect storm's admissions share one round trip (a pipeline of the same script calls).
        self._admit: Coalescer[tuple[str, int, int], Admission] = Coalescer(self._admit_many)

    def _connected(self) -> _Scripts:
        """The scripts, on a client created on first use (on the loop that uses it)."""
        if self._scripts is None:
            import redis.asyncio as aioredis

            timeout = settings.CHAT_LAYER_TIMEOUT
            self._client = client = aioredis.from_url(
                self.url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                max_connections=settings.CHAT_REDIS_POOL_SIZE,
            )
            self._scripts = _Scripts(
                client.register_script(_ADD), client.register_script(_REMOVE), client.register_script(_HEARTBEAT)
            )
        return self._scripts

    def _expires_at(self) -> float:
        return time.time() + settings.CHAT_PRESENCE_EXPIRY

    async def admit(self, *, client: str, user_id: int, limit: int) -> Admission:
        return await self._admit((client, user_id, limit))

    async def _admit_many(self, requests: list[tuple[str, int, int]]) -> list[Admission]:
        """The ``_ADD`` script for each socket, in order, in one pipeline (not a transaction: each
        script is atomic by itself, as when they ran one by one)."""
        scripts = self._connected()
        client_of_pipeline = cast("Redis", self._client)  # set by _connected
        keys = [self.procs_key, self.proc_key, self.users_key]
        expires_at = self._expires_at()
        async with client_of_pipeline.pipeline(transaction=False) as pipe:
            for client, user_id, limit in requests:
                args: list[str | int | float] = [self.process_id, client, user_id, expires_at, limit]
                await scripts.add(keys=keys, args=args, client=pipe)
            replies = await pipe.execute()
        return [{1: Admission.FIRST, 0: Admission.ANOTHER}.get(int(added), Admission.REFUSED) for added in replies]

    async def add(self, *, client: str, user_id: int) -> bool:
        return await self.admit(client=client, user_id=user_id, limit=0) is Admission.FIRST

    async def remove(self, *, client: str, user_id: int) -> bool:
        return bool(await self._connected().remove(keys=[self.proc_key, self.users_key], args=[client, user_id]))

    async def heartbeat(self) -> Heartbeat:
        args: list[str | float] = [self.process_id, self._expires_at(), time.time(), self.proc_prefix]
        registered, offline = await self._connected().heartbeat(keys=[self.procs_key, self.users_key], args=args)
        return Heartbeat(bool(registered), [int(uid) for uid in offline])

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client, self._scripts = None, None

    def clients_sync(self) -> list[str]:
        import redis

        timeout = settings.CHAT_LAYER_TIMEOUT
        client = redis.Redis.from_url(self.url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            # redis-py types every reply of its sync client as "Awaitable | Any".
            live = cast(list[bytes], client.zrangebyscore(self.procs_key, time.time(), "+inf"))
            pipe = client.pipeline()
            for pid in live:
                pipe.hkeys(self.proc_prefix + pid.decode())
            replies = cast(list[list[bytes]], pipe.execute())
            return [key.decode() for keys in replies for key in keys]
        finally:
            client.close()
