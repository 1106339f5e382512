"""How a reconnecting client waits between attempts, for the reconnect storm (bench/reconnect.py).

Two policies, so the storm can be read against a harsh client and a realistic one:

- ``harsh``: every 50-100 ms (jittered) whatever the answer, a refusal's ``Retry-After`` ignored: what the
  storm measured first, and what a careless client does;
- ``backoff``: the web page's policy (static/chat/socket.js): after a 1012 close a random wait of up to
  1 s, then, at each failure, full jitter between half and all of min(15 s, 0.5 s x 2^attempt); a refused
  handshake's ``Retry-After`` is honoured on top (the wait is never shorter, jittered up to 1.5x it), as a
  native client can (a browser sees neither the status nor the header: it only backs off).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

POLICIES = ("harsh", "backoff")
HARSH_S = (0.05, 0.1)
BASE_S, MAX_S, RESTART_SPREAD_S = 0.5, 15.0, 1.0  # socket.js: BASE_DELAY, MAX_DELAY, RESTART_SPREAD
RESTART_CODE = 1012


@dataclass
class Retry:
    """One client's waits: ``after_close`` once its socket closed, ``after_failure`` per failed attempt."""

    policy: str
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def after_close(self, code: int | None) -> float:
        if self.policy == "harsh":
            return 0.0
        self.attempt = 1  # socket.js resets the count on a stable socket, then counts this close
        if code == RESTART_CODE:
            return self.rng.uniform(0, RESTART_SPREAD_S)
        return self._backoff(0)

    def after_failure(self, retry_after_s: float | None) -> float:
        if self.policy == "harsh":
            return self.rng.uniform(*HARSH_S)
        delay = self._backoff(self.attempt)
        self.attempt += 1
        if retry_after_s is not None:
            delay = max(delay, retry_after_s * self.rng.uniform(1.0, 1.5))
        return delay

    def _backoff(self, attempt: int) -> float:
        ceiling = min(MAX_S, BASE_S * 2**attempt)
        return self.rng.uniform(ceiling / 2, ceiling)


def retry_after(exc: BaseException) -> float | None:
    """The ``Retry-After`` seconds of a refused handshake (websockets' InvalidStatus), if it has one."""
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def failure_reason(exc: BaseException) -> str:
    """``HTTP 503``, ``ConnectionRefusedError``, ``TimeoutError``...: why an attempt failed."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return f"HTTP {status}" if status is not None else type(exc).__name__
