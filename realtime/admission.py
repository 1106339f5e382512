"""Admission control on WebSocket handshakes: at most ``CHAT_MAX_PENDING_HANDSHAKES`` in progress per process.

Why: when every client of a restarted process reconnects at once, each handshake needs a share of one
core (daphne's and autobahn's handshake, the token check, presence, the room). Without a bound every
handshake waits behind all the others, so past a few thousand each takes longer than daphne's handshake
timeout (20 s) or the client's patience: it is dropped after its work was done, its client retries, and
the process spends its core on work thrown away (README "Connect storms": 469 of 5,000 sockets back
within 60 s, 23 ms of CPU per socket back where a handshake costs 1.6). With a bound, the handshakes
admitted finish quickly and the others are refused at once, for almost nothing.

A handshake takes a slot when its upgrade request arrives (``chatsite.handshake_gate``, before the upgrade,
the token check, presence or the database) and gives it back, exactly once, at whichever comes first:
its consumer finished connecting (admitted, subscribed and registered, or closed with a code), or its
connection ended (the client gave up, daphne's connect timeout, a refusal by the origin policy). Over the
cap an upgrade waits, parked and costing nothing, for a slot in arrival order, up to
``CHAT_HANDSHAKE_QUEUE_SECONDS``; then (or at once, when too many wait) the server answers ``503`` with
``Retry-After`` and no upgrade (a browser sees a failed connection and backs off; README "Connect storms"
says why not 1013).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from core import metrics

SLOT_ATTRIBUTE = "chat_handshake_slot"
_REFUSED = metrics.HANDSHAKES.labels(outcome="refused")


class Slot:
    """One handshake's place under the cap; ``release`` gives it back once, whatever calls it first."""

    __slots__ = ("_gate",)

    def __init__(self, gate: HandshakeGate) -> None:
        self._gate: HandshakeGate | None = gate

    @property
    def held(self) -> bool:
        return self._gate is not None

    def release(self, outcome: str) -> None:
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.released(outcome)


class HandshakeGate:
    """Counts the handshakes in progress in this process (the event loop's thread only); ``limit`` 0 is no cap.
    ``on_release`` is called whenever a slot comes back (the server admits a waiting handshake then)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pending = 0
        self.on_release: Callable[[], None] | None = None

    def try_acquire(self) -> Slot | None:
        """A slot, or None when ``limit`` handshakes are in progress already."""
        if self.limit and self.pending >= self.limit:
            return None
        self.pending += 1
        metrics.HANDSHAKES_PENDING.inc()
        return Slot(self)

    def refused(self) -> None:
        """A handshake that got no slot was refused (503)."""
        _REFUSED.inc()

    def released(self, outcome: str) -> None:
        self.pending -= 1
        metrics.HANDSHAKES_PENDING.dec()
        metrics.HANDSHAKES.labels(outcome=outcome).inc()
        if self.on_release is not None:
            self.on_release()


_gate: HandshakeGate | None = None


def gate() -> HandshakeGate:
    """The process's gate, sized by ``CHAT_MAX_PENDING_HANDSHAKES`` when first used."""
    global _gate
    if _gate is None:
        _gate = HandshakeGate(settings.CHAT_MAX_PENDING_HANDSHAKES)
    return _gate


def release(connection: Any, outcome: str) -> None:
    """Give back the slot ``connection`` (a daphne WebSocket protocol) holds, if it still holds one."""
    slot: Slot | None = getattr(connection, SLOT_ATTRIBUTE, None)
    if slot is not None:
        slot.release(outcome)


def finished(send: Any) -> None:
    """The consumer behind ``send`` has finished connecting: give back its connection's slot. Under daphne
    ``send`` is ``partial(server.handle_reply, protocol)``; other servers (tests) hold no slot."""
    if isinstance(send, partial) and send.args:
        release(send.args[0], "completed")


class AdmittedSocket(AsyncWebsocketConsumer):
    """A consumer that gives its handshake slot back once its ``connect`` is over, however it ended
    (returned, closed, raised or cancelled)."""

    async def websocket_connect(self, message: Any) -> None:
        try:
            await super().websocket_connect(message)
        finally:
            self.handshake_finished()

    def handshake_finished(self) -> None:
        """Give the slot back now (idempotent): before waiting on a slow client, say."""
        finished(self.base_send)
