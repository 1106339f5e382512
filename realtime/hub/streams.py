"""One room's event stream inside a process: in seq order, each message once, gaps filled from the database.

The channel layer delivers at most once and, across processes, not necessarily in commit order. Seqs
are gapless and allocated in commit order, so a stream that has delivered seq N knows that N+1 is next:
an event further ahead waits briefly for the missing one, then the gap is read from the database,
where every acknowledged message already is. Duplicates (a message already delivered from the
database, or echoed by the layer) are dropped by seq.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from core import metrics
from realtime.hub.delivery import deliver_all
from realtime.hub.registry import Socket

logger = logging.getLogger(__name__)

GAP_GRACE_SECONDS = 0.2
CATCH_UP_BATCH = 1000  # a longer gap is read over several catch-ups

# (room id, after seq, up to seq) -> [(seq, encoded message frame, sender id)] of the stored messages.
FetchFrames = Callable[[int, int, int], Awaitable[list[tuple[int, str, int | None]]]]


class Delivery(NamedTuple):
    """A frame released to sockets; ``committed_at`` when it came live with its commit time (the
    delivery lag), None when it was read from the database."""

    sockets: set[Socket]
    frame: str
    committed_at: float | None = None


class RoomStream:
    """The followers (message sockets) and watchers (notification sockets counting unread) of a room
    in this process, and the sequencer that feeds them. ``on_message`` hears of every new message
    delivered (live or caught up), for unread counting."""

    def __init__(
        self, *, room_id: int, slug: str, fetch: FetchFrames, on_message: Callable[[RoomStream], None]
    ) -> None:
        self.room_id, self.slug = room_id, slug
        self.followers: set[Socket] = set()
        self.watchers: set[Socket] = set()
        self.delivered = 0
        self.ready = asyncio.Event()
        self._fetch = fetch
        self._on_message = on_message
        self._pending: dict[int, str] = {}
        self._stamps: dict[int, float] = {}  # seq -> commit time, for the pending frames that have one
        self._early: list[tuple[int | None, str, float | None]] = []
        self._filling: asyncio.Task[None] | None = None

    @property
    def empty(self) -> bool:
        return not self.followers and not self.watchers

    def start_at(self, last_seq: int) -> None:
        """Begin after ``last_seq`` (read once the process is subscribed). What arrived early only moves
        the stream on: sockets join once it is ready, and their replay starts where it then is."""
        self.delivered = max(self.delivered, last_seq)
        self.ready.set()
        early, self._early = self._early, []
        for seq, frame, committed_at in early:
            self.offer(seq, frame, committed_at)

    def offer(self, seq: int | None, frame: str, committed_at: float | None = None) -> list[Delivery]:
        """Accept a frame (a message's with its seq, or any other with None); return the deliveries it
        releases, in order."""
        if not self.ready.is_set():
            self._early.append((seq, frame, committed_at))
            return []
        if seq is None:
            return [Delivery(self.followers, frame, committed_at)]
        if seq <= self.delivered:
            return []
        self._pending[seq] = frame
        if committed_at is not None:
            self._stamps[seq] = committed_at
        released = self._release()
        if self._pending and self._filling is None:
            self._filling = asyncio.get_running_loop().create_task(self._fill_after_grace())
        return released

    def _release(self) -> list[Delivery]:
        released = []
        while (frame := self._pending.pop(self.delivered + 1, None)) is not None:
            self.delivered += 1
            self._on_message(self)
            released.append(Delivery(self.followers, frame, self._stamps.pop(self.delivered, None)))
        return released

    async def _fill_after_grace(self) -> None:
        try:
            await asyncio.sleep(GAP_GRACE_SECONDS)
            if self._pending:
                await self.catch_up(max(self._pending), reason="gap")
        finally:
            self._filling = None
            if self._pending:
                self._filling = asyncio.get_running_loop().create_task(self._fill_after_grace())

    async def catch_up(self, upto: int, *, reason: str = "sync") -> None:
        """Deliver every stored message in (delivered, upto] that was missed, then what was waiting;
        ``reason`` labels the read in ``chat_gap_fills_total`` (gap: seqs out of order; sync: the periodic
        catch-up)."""
        upto = min(upto, self.delivered + CATCH_UP_BATCH)
        if upto <= self.delivered:
            return
        metrics.GAP_FILLS.labels(reason=reason).inc()
        try:
            rows = await self._fetch(self.room_id, self.delivered, upto)
        except Exception:
            logger.warning("Could not read room %s from the database to fill a gap", self.room_id, exc_info=True)
            return
        for seq, frame, _sender in rows:
            if seq > self.delivered and seq not in self._pending:
                self._pending[seq] = frame
        deliveries = []
        # Whatever is still missing below ``upto`` was deleted for good since (purged): skip it.
        for seq in sorted(s for s in self._pending if s <= upto):
            frame = self._pending.pop(seq)
            self.delivered = seq
            self._on_message(self)
            deliveries.append(Delivery(self.followers, frame, self._stamps.pop(seq, None)))
        self.delivered = max(self.delivered, upto)
        deliveries.extend(self._release())
        for sockets, frame, committed_at in deliveries:
            deliver_all(sockets, frame, committed_at)
