"""Concurrent calls of one kind, made on one event loop, answered by one batch call (connect storms).

A burst of handshakes each needs the same small piece of work from the database thread or Redis (its
token's user, its presence entry). One trip per socket costs a thread hop, a transaction and a query
each; a ``Coalescer`` sends the first call alone at once, and every call that arrives while a batch is
on its way waits for the next batch, which takes them all. Under light load nothing waits longer than
before; under a storm the trips, and their fixed costs, are shared by up to ``max_batch`` sockets.

The batch function answers each item with its result or with the exception that item raises; an
exception of the batch call itself goes to every caller of that batch.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

BatchCall = Callable[[list[T]], Awaitable[Sequence[R | BaseException]]]


@dataclass
class _LoopState(Generic[T, R]):
    pending: list[tuple[T, asyncio.Future[R]]] = field(default_factory=list)
    running: bool = False
    task: asyncio.Task[None] | None = None


class Coalescer(Generic[T, R]):
    """``await coalescer(item)``: the result of ``batch([... item ...])`` for that item."""

    def __init__(self, batch: BatchCall[T, R], *, max_batch: int = 200) -> None:
        self.batch = batch
        self.max_batch = max_batch
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState[T, R]] = (
            weakref.WeakKeyDictionary()
        )

    async def __call__(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            state = self._states[loop] = _LoopState()
        future: asyncio.Future[R] = loop.create_future()
        state.pending.append((item, future))
        if not state.running:
            state.running = True
            state.task = loop.create_task(self._drain(state))
        return await future

    async def _drain(self, state: _LoopState[T, R]) -> None:
        try:
            while state.pending:
                taken, state.pending = state.pending[: self.max_batch], state.pending[self.max_batch :]
                # A caller that gave up (its socket closed) is left out of the batch.
                taken = [(item, future) for item, future in taken if not future.done()]
                if not taken:
                    continue
                try:
                    results = await self.batch([item for item, _future in taken])
                except Exception as exc:
                    for _item, future in taken:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                except BaseException as exc:  # cancelled with the loop: nobody is left to answer
                    for _item, future in taken:
                        if not future.done():
                            future.cancel()
                    for _item, future in state.pending:
                        future.cancel()
                    state.pending = []
                    if isinstance(exc, asyncio.CancelledError):
                        return
                    raise
                if len(results) != len(taken):
                    results = [RuntimeError("a batch call answered the wrong number of items")] * len(taken)
                for (_item, future), result in zip(taken, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            state.running = False
