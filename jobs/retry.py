"""Retry policies: how many times a failing job is tried, and how long it waits between tries."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``attempts`` tries in all; after the n-th failure the job waits
    ``base * factor ** (n - 1)`` seconds (at most ``cap``), spread by ±``jitter`` so that jobs that
    failed together (a receiver that was down) do not all come back in the same second."""

    attempts: int = 5
    base: float = 30.0
    factor: float = 2.0
    cap: float = 3600.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base < 0 or self.factor < 1 or self.cap < 0 or not 0 <= self.jitter <= 1:
            raise ValueError(f"Not a usable backoff: {self}")

    def delay(self, failed_attempt: int) -> float | None:
        """Seconds to wait before the try after ``failed_attempt`` (1 for the first), or None: no tries left."""
        if failed_attempt >= self.attempts:
            return None
        wait = min(self.cap, self.base * self.factor ** (failed_attempt - 1))
        spread = wait * self.jitter
        return max(0.0, wait + random.uniform(-spread, spread))  # noqa: S311 (not cryptographic)

    def total(self) -> float:
        """The longest a job can take from its first try to its last, without jitter (for docs and tests)."""
        return sum(min(self.cap, self.base * self.factor**n) for n in range(self.attempts - 1))


NO_RETRY = Backoff(attempts=1)


class RetryLater(Exception):
    """Raised by a job to be tried again after ``delay`` seconds (None: the policy's backoff), e.g. when
    a receiver answered 429 with Retry-After. It counts as a failed try."""

    def __init__(self, reason: str = "", *, delay: float | None = None) -> None:
        super().__init__(reason or "retry requested")
        self.delay = delay


class GiveUp(Exception):
    """Raised by a job that will never succeed (the row it works on is gone): no more tries."""
