"""The channel layer for a process without a hub: a WSGI worker (gunicorn), a management command, a test.

Such a process publishes events (a message posted over REST on the HTTP worker pool) for the hubs of
the daphne processes. ``async_to_sync`` per event would start an event loop in a new thread for every
call, and the layer a new Redis connection for every loop. Here one daemon thread per process runs one
event loop, where the layer keeps its connections, and one task sends the events in the order they were
committed, each send bounded by CHAT_LAYER_TIMEOUT.

The caller waits until its event is handed to Redis (at most CHAT_LAYER_TIMEOUT) while the layer
answers, so what a request committed is on its way when the response leaves. During an outage callers
do not wait: events queue (up to BACKLOG, then new ones are dropped with a warning) and are retried
with backoff, in order, as the hub's link does; messages would also reach sockets from the database,
but edits, deletions, notifications and closes only this way. At exit the queue is flushed for up to
CHAT_LAYER_TIMEOUT. A forked child (gunicorn's workers) starts its own thread on first use.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from core import metrics

logger = logging.getLogger(__name__)

BACKLOG = 10_000


@dataclass
class _Item:
    group: str
    message: dict[str, Any]
    retry: bool
    sent: threading.Event = field(default_factory=threading.Event)


class Relay:
    def __init__(self) -> None:
        self.healthy = True
        self._lock = threading.Lock()
        self._pid: int | None = None
        self.backlog = BACKLOG
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Item] | None = None
        self._layer: BaseChannelLayer | None = None

    def send(self, group: str, message: dict[str, Any], *, retry: bool = True) -> None:
        """Publish ``message`` to ``group`` after everything submitted before it."""
        layer = get_channel_layer()
        if layer is None or isinstance(layer, InMemoryChannelLayer):
            return  # an in-memory layer only reaches this process, and no hub listens here
        item = _Item(group, message, retry)
        self._started(layer).call_soon_threadsafe(self._enqueue, item)
        if self.healthy:
            item.sent.wait(settings.CHAT_LAYER_TIMEOUT)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event was sent or dropped (at most ``timeout``); False if some remain."""
        loop, queue = self._loop, self._queue
        if loop is None or queue is None or self._pid != os.getpid() or loop.is_closed():
            return True
        limit = settings.CHAT_LAYER_TIMEOUT if timeout is None else timeout
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(queue.join(), limit), loop)
        try:
            future.result(limit + 0.5)
        except Exception:
            logger.warning("%d events for other processes were not sent before exit", queue.qsize())
            return False
        return True

    def stop(self) -> None:
        """Stop this process's relay thread (tests); the next ``send`` starts a new one."""
        with self._lock:
            loop, self._loop, self._pid = self._loop, None, None
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)

    def _started(self, layer: BaseChannelLayer) -> asyncio.AbstractEventLoop:
        if self._layer is not None and self._layer is not layer and self._pid == os.getpid():
            # The layer was replaced (tests do, between event loops): its connections close with our loop.
            self.flush()
            self.stop()
        with self._lock:
            if self._pid != os.getpid() or self._loop is None:
                self._pid, self.healthy, self._layer = os.getpid(), True, layer
                self._loop, self._queue = asyncio.new_event_loop(), asyncio.Queue(maxsize=self.backlog)
                ready = threading.Event()
                thread = threading.Thread(
                    target=self._serve, args=(self._loop, self._queue, layer, ready), name="layer-relay", daemon=True
                )
                thread.start()
                ready.wait()
            return self._loop

    def _serve(
        self,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[_Item],
        layer: BaseChannelLayer,
        ready: threading.Event,
    ) -> None:
        asyncio.set_event_loop(loop)
        loop.create_task(self._run(layer, queue))
        loop.call_soon(ready.set)
        loop.run_forever()
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    def _enqueue(self, item: _Item) -> None:
        try:
            self._queue.put_nowait(item)  # type: ignore[union-attr]  # set before its loop runs
        except asyncio.QueueFull:
            logger.warning("Channel layer backlog full: dropping an event for other processes")
            item.sent.set()

    async def _run(self, layer: BaseChannelLayer, queue: asyncio.Queue[_Item]) -> None:
        while True:
            item = await queue.get()
            try:
                await self._deliver(layer, item)
            except Exception:
                logger.exception("Could not publish to the channel layer")
            finally:
                item.sent.set()
                queue.task_done()

    async def _deliver(self, layer: BaseChannelLayer, item: _Item) -> None:
        backoff = 0.05
        while True:
            try:
                await asyncio.wait_for(layer.group_send(item.group, item.message), settings.CHAT_LAYER_TIMEOUT)
            except Exception:
                self._failed()
                item.sent.set()  # the caller stops waiting; the event stays first in line
                if not item.retry:
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            if not self.healthy:
                logger.warning("Channel layer reachable again: queued events for other processes are being sent")
            self.healthy = True
            return

    def _failed(self) -> None:
        if self.healthy:
            logger.warning("Channel layer unreachable: events for other processes wait here", exc_info=True)
            metrics.LAYER_OUTAGES.labels(component="relay").inc()
        self.healthy = False


_RELAY = Relay()
send = _RELAY.send
flush = _RELAY.flush


@atexit.register
def _flush_at_exit() -> None:
    with contextlib.suppress(Exception):
        _RELAY.flush()
