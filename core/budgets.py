"""Per-user budgets shared by every transport and every server process (a user's, not a socket's).

A budget such as ``30/10s`` is a token bucket: up to 30 units may be spent at once, then one more every
10/30 s. It is kept as one number per key, the time at which the bucket is full again (GCRA), so that
spending is one atomic step: with REDIS_URL a Lua script in Redis (on Redis's clock, whichever process
asks), otherwise the local-memory cache under a lock (there is only one process then). A refused attempt
spends nothing, so a client that retries too early is not locked out for longer.

When Redis cannot be reached, budgets are not enforced (and a warning is logged): messages are still
stored during an outage, as the rest of the server does, rather than refused for everyone.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.cache import cache

from core import metrics
from core.env import parse_rate
from core.errors import RateLimited

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rate:
    """``count`` units per ``period`` seconds, all of them available at once."""

    count: int
    period: int

    def cost_ms(self, units: int) -> int:
        """Rounded down, so that ``count`` units fit in the period (30/10s: 333 ms each, not 334); the
        clock counts milliseconds, so rates finer than 1,000 units a second are not told apart."""
        return max(1, units * self.period * 1000 // self.count)


@functools.lru_cache(maxsize=64)
def rate_of(text: str) -> Rate:
    """The Rate a setting such as ``30/10s`` describes (settings.py has already refused bad ones)."""
    return Rate(*parse_rate(text))


def spend(scope: str, ident: object, *, rate: str, cost: int = 1) -> float:
    """Spend ``cost`` units of ``ident``'s budget ``rate`` for ``scope``: 0.0 when allowed, otherwise
    the seconds until it would be (nothing is spent then)."""
    if cost <= 0:
        return 0.0
    budget = rate_of(rate)
    wait_ms = _store().spend(_key(scope, ident), budget.cost_ms(cost), budget.period * 1000)
    if wait_ms:
        metrics.BUDGET_REFUSALS.labels(scope=scope).inc()
    return wait_ms / 1000


def refund(scope: str, ident: object, *, rate: str, cost: int = 1) -> None:
    """Give back what ``spend`` took, for an attempt that turned out to cost nothing (a retry)."""
    if cost > 0:
        _store().refund(_key(scope, ident), rate_of(rate).cost_ms(cost))


def check(scope: str, ident: object, *, rate: str, cost: int = 1, error: type[RateLimited] = RateLimited) -> None:
    """``spend``, raising ``error`` (HTTP 429, socket ``rate_limited``) with ``retry_after`` when refused."""
    wait = spend(scope, ident, rate=rate, cost=cost)
    if wait:
        raise too_fast(error, wait)


def too_fast(error: type[RateLimited], wait: float) -> RateLimited:
    seconds = max(1, math.ceil(wait))
    return error(f"{error.default_detail} Try again in {seconds} s.", extra={"retry_after": seconds})


def _key(scope: str, ident: object) -> str:
    return f"{settings.CHAT_LAYER_PREFIX}:rate:{scope}:{ident}"


class _Store(Protocol):
    def spend(self, key: str, cost_ms: int, period_ms: int) -> int: ...  # ms to wait; 0: spent
    def refund(self, key: str, cost_ms: int) -> None: ...


def _store() -> _Store:
    return _redis_store(settings.REDIS_URL) if settings.REDIS_URL else _LOCAL


# --- Redis ---------------------------------------------------------------------------------------------

# KEYS[1]: the budget; ARGV: cost and period in ms. The key holds the time (ms) at which the bucket is
# full again, and expires then.
_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)"
_SPEND = f"""{_NOW}
local full_at = tonumber(redis.call('GET', KEYS[1]) or '0')
if full_at < now then full_at = now end
local after = full_at + tonumber(ARGV[1])
local wait = after - now - tonumber(ARGV[2])
if wait > 0 then return wait end
redis.call('SET', KEYS[1], after, 'PX', after - now)
return 0
"""
_REFUND = f"""{_NOW}
local after = tonumber(redis.call('GET', KEYS[1]) or '0') - tonumber(ARGV[1])
if after <= now then redis.call('DEL', KEYS[1]) return 0 end
redis.call('SET', KEYS[1], after, 'PX', after - now)
return 0
"""


class _RedisStore:
    def __init__(self, url: str) -> None:
        import redis

        timeout = settings.CHAT_LAYER_TIMEOUT
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self.errors = (redis.RedisError, OSError)
        self._spend, self._refund = client.register_script(_SPEND), client.register_script(_REFUND)

    def spend(self, key: str, cost_ms: int, period_ms: int) -> int:
        try:
            return int(self._spend(keys=[key], args=[cost_ms, period_ms]))
        except self.errors:
            logger.warning("Rate limits not enforced: Redis is unreachable", exc_info=True)
            return 0

    def refund(self, key: str, cost_ms: int) -> None:
        try:
            self._refund(keys=[key], args=[cost_ms])
        except self.errors:
            logger.warning("Could not refund a rate limit: Redis is unreachable", exc_info=True)


@functools.lru_cache(maxsize=4)
def _redis_store(url: str) -> _RedisStore:
    return _RedisStore(url)


# --- Local memory --------------------------------------------------------------------------------------


class _CacheStore:
    """The same arithmetic on the process's cache; the lock makes read-then-write atomic."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def spend(self, key: str, cost_ms: int, period_ms: int) -> int:
        with self.lock:
            now = _now_ms()
            stored: int = cache.get(key, 0)
            after = max(stored, now) + cost_ms
            wait = after - now - period_ms
            if wait > 0:
                return wait
            cache.set(key, after, timeout=_seconds(after - now))
            return 0

    def refund(self, key: str, cost_ms: int) -> None:
        with self.lock:
            now = _now_ms()
            after = cache.get(key, 0) - cost_ms
            if after <= now:
                cache.delete(key)
            else:
                cache.set(key, after, timeout=_seconds(after - now))


def _now_ms() -> int:
    return int(time.time() * 1000)


def _seconds(ms: int) -> int:
    """A cache timeout: whole seconds, rounded up (some backends truncate, and 0 would delete at once)."""
    return max(1, math.ceil(ms / 1000))


_LOCAL = _CacheStore()
