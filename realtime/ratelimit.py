"""Per-connection rate limiting: a token bucket, and a count of how long a client ignores it."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; each frame takes one."""

    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = float(burst)
        self.updated = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class FloodGuard:
    """A bucket plus the number of frames refused in a row: past ``limit`` the client is flooding."""

    def __init__(self, bucket: TokenBucket, *, limit: int) -> None:
        self.bucket, self.limit = bucket, limit
        self.refused_in_a_row = 0

    def admit(self) -> bool:
        if self.bucket.take():
            self.refused_in_a_row = 0
            return True
        self.refused_in_a_row += 1
        return False

    @property
    def flooding(self) -> bool:
        return self.refused_in_a_row > self.limit


class Interval:
    """Lets one event through per ``seconds`` (typing indicators)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self.last = float("-inf")

    def ready(self) -> bool:
        now = self.clock()
        if now - self.last >= self.seconds:
            self.last = now
            return True
        return False
