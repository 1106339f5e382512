"""The frames of one socket on their way through its ASGI ``send``, in order, one at a time.

The hub never awaits a socket. A broadcast that cannot take the fast path (another server, a
middleware wrapping ``send``, back_chat's reshaped frames) is queued here with ``offer`` and sent by the
socket's own drain task, so a client that reads slowly holds up nobody else. Queued broadcasts are
bounded by CHAT_SLOW_READER_LIMIT bytes: past it ``offer`` refuses and the socket is closed (1013). The
socket's own frames and closes wait for their turn with ``send``, so a socket's frames always leave in
the order they were queued; when nothing is queued they are sent at once, without a task hop.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]
# A queued message, its size counted against the limit (0 for the socket's own), and who waits for it.
_Item = tuple[dict[str, Any], int, "asyncio.Future[None] | None"]


class SendQueue:
    def __init__(self, send: Send, *, limit: int, after_send: Callable[[], None] | None = None) -> None:
        self._send = send
        self.limit = limit
        self._after_send = after_send
        self._items: deque[_Item] = deque()
        self.queued_bytes = 0
        self._busy = False  # a message is being sent (the first item, when the drain task sends it)
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def offer(self, text: str) -> bool:
        """Queue a broadcast frame; False (and nothing queued) when it would pass the limit."""
        if self._closed:
            return True  # the socket is going: nothing more to send, nothing to complain about
        size = len(text)
        if self.queued_bytes + size > self.limit:
            return False
        self.queued_bytes += size
        self._items.append(({"type": "websocket.send", "text": text}, size, None))
        self._kick()
        return True

    async def send(self, message: dict[str, Any]) -> None:
        """Send ``message`` after everything queued before it; raise what the ASGI send raised."""
        if self._closed or (not self._items and not self._busy):
            self._busy = True
            try:
                await self._send(message)
            finally:
                self._busy = False
                self._kick()
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._items.append((message, 0, waiter))
        self._kick()
        await waiter

    def discard_broadcasts(self) -> None:
        """Drop the queued broadcasts not yet being sent (a reader too slow for them is being closed)."""
        in_flight = [self._items.popleft()] if self._busy and self._task is not None and self._items else []
        kept = [item for item in self._items if item[2] is not None]
        self._items = deque(in_flight + kept)
        self.queued_bytes = sum(size for _, size, _ in self._items)

    def close(self) -> None:
        """The socket ended: stop sending, and release whoever waits."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
        for _message, _size, waiter in self._items:
            if waiter is not None and not waiter.done():
                waiter.cancel()
        self._items.clear()
        self.queued_bytes = 0

    def _kick(self) -> None:
        if self._items and not self._busy and self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        self._busy = True
        try:
            while self._items:
                message, size, waiter = self._items[0]
                try:
                    await self._send(message)
                except Exception as exc:
                    if waiter is None:
                        logger.debug("Sending a queued frame failed", exc_info=True)
                    elif not waiter.done():
                        waiter.set_exception(exc)
                else:
                    if waiter is not None and not waiter.done():
                        waiter.set_result(None)
                finally:
                    if self._items and self._items[0][0] is message:
                        self._items.popleft()
                        self.queued_bytes -= size
                if self._after_send is not None:
                    self._after_send()
        finally:
            self._busy = False
            self._task = None
