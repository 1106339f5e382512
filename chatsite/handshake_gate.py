"""daphne's WebSocket upgrades under the per-process cap on handshakes in progress (realtime/admission.py).

daphne turns an HTTP request with ``Upgrade: websocket`` into a WebSocket connection inside
``WebRequest.process``: it builds the WebSocket protocol, hands it the TCP connection and replays the
request to it (autobahn's handshake, then the ASGI application). ``upgrade`` runs that under a slot. Over
the cap the request is parked, before autobahn, the application, the token check or the database see it:
it waits, costing nothing, and is processed in arrival order when a slot comes back. One that has waited
``CHAT_HANDSHAKE_QUEUE_SECONDS``, or that arrives when 10x the cap are waiting already, or any while the
server shuts down, is answered ``503`` with ``Retry-After`` and no upgrade: an HTTP parse and one write.
Waiting rather than refusing at once matters because a refusal is cheap but not free (0.45 ms of CPU,
a third of a handshake, README "Connect storms"), and every refused client comes back to be refused again.

An admitted request's slot goes to the new connection, a ``GatedWebSocketProtocol``, which gives it back
when the connection ends, unless its consumer finished connecting first
(``realtime.admission.AdmittedSocket``). ``chatsite.server.ChatServer`` builds its WebSocket connections
from ``GatedWebSocketFactory``.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from django.conf import settings
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure

from core import metrics
from realtime import admission
from realtime.admission import Slot

logger = logging.getLogger(__name__)

# What a refused client is told to wait, in seconds (HTTP allows whole seconds only); clients add jitter.
RETRY_AFTER_SECONDS = 1
QUEUE_PER_SLOT = 10  # at most this many upgrades wait per slot of the cap
SWEEP_SECONDS = 1.0


class GatedWebSocketProtocol(WebSocketProtocol):
    """daphne's WebSocket connection, giving back its handshake slot when it ends."""

    lost = False

    def hold(self, slot: Slot) -> None:
        if self.lost:  # the handshake failed before the slot got here (autobahn refused it, say)
            slot.release("dropped")
        else:
            setattr(self, admission.SLOT_ATTRIBUTE, slot)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.lost = True
        admission.release(self, "dropped")
        super().connectionLost(reason)


class GatedWebSocketFactory(WebSocketFactory):
    protocol = GatedWebSocketProtocol


def is_websocket_upgrade(request: Any) -> bool:
    """daphne's own test: the first ``Upgrade`` header says ``websocket``."""
    values = request.requestHeaders.getRawHeaders(b"upgrade")
    return bool(values) and values[0].lower() == b"websocket"


def _call_later(delay: float, function: Callable[[], None]) -> None:
    from twisted.internet import reactor  # the reactor daphne installed, looked up once it runs

    reactor.callLater(delay, function)


class Queue:
    """Upgrade requests over the cap, in arrival order: (request, daphne's process, deadline)."""

    def __init__(self) -> None:
        self.waiting: deque[tuple[Any, Callable[[], Any], float]] = deque()
        self.wake_scheduled = self.sweeping = False

    def park(self, request: Any, process: Callable[[], Any], gate: admission.HandshakeGate) -> bool:
        wait = float(settings.CHAT_HANDSHAKE_QUEUE_SECONDS)
        if wait <= 0 or len(self.waiting) >= QUEUE_PER_SLOT * gate.limit or _draining(request):
            return False
        self.waiting.append((request, process, time.monotonic() + wait))
        metrics.HANDSHAKES_WAITING.set(len(self.waiting))
        gate.on_release = self.wake
        producer = getattr(request.channel, "_networkProducer", None)
        if producer is not None:
            producer.resumeProducing()  # so that a client leaving while it waits is noticed
        if not self.sweeping:
            self.sweeping = True
            _call_later(SWEEP_SECONDS, self.sweep)
        return True

    def wake(self) -> None:
        """A slot came back: admit the next waiting upgrade soon (not inside whoever released it)."""
        if self.waiting and not self.wake_scheduled:
            self.wake_scheduled = True
            _call_later(0, self.admit)

    def admit(self) -> None:
        """Process waiting upgrades while there are slots; refuse those whose wait is over."""
        self.wake_scheduled = False
        try:
            self._admit(admission.gate(), time.monotonic())
        finally:
            metrics.HANDSHAKES_WAITING.set(len(self.waiting))

    def _admit(self, gate: admission.HandshakeGate, now: float) -> None:
        while self.waiting:
            request, process, deadline = self.waiting[0]
            if _gone(request):
                self.waiting.popleft()
            elif now > deadline or _draining(request):
                self.waiting.popleft()
                refuse(request, gate)
            elif (slot := gate.try_acquire()) is not None:
                self.waiting.popleft()
                try:
                    run(request, process, slot)
                except Exception:  # daphne's own failure on one request: the others still go on
                    logger.exception("Could not process a waiting WebSocket upgrade")
            else:
                return

    def sweep(self) -> None:
        """Every second while upgrades wait: refuse the expired ones even when no slot comes back."""
        self.admit()
        self.sweeping = bool(self.waiting)
        if self.sweeping:
            _call_later(SWEEP_SECONDS, self.sweep)


queue = Queue()


def upgrade(request: Any, process: Callable[[], Any]) -> Any:
    """daphne's ``process`` of a WebSocket upgrade ``request`` under a slot; parked or refused over the cap."""
    gate = admission.gate()
    slot = None if queue.waiting else gate.try_acquire()  # no overtaking those already waiting
    if slot is not None:
        return run(request, process, slot)
    if not queue.park(request, process, gate):
        refuse(request, gate)
    return None


def run(request: Any, process: Callable[[], Any], slot: Slot) -> Any:
    transport = request.transport
    try:
        return process()
    finally:
        # daphne moved the TCP connection to the new protocol (through a TLS wrapper's wrappedProtocol);
        # when it did not (a bad header answered 400), nothing holds the slot.
        protocol = getattr(transport, "wrappedProtocol", None) or getattr(transport, "protocol", None)
        if isinstance(protocol, GatedWebSocketProtocol):
            protocol.hold(slot)
        else:
            slot.release("dropped")


def refuse(request: Any, gate: admission.HandshakeGate) -> None:
    gate.refused()
    detail = "Too many connections are being opened; try again later."
    request.channel.refuse(503, "busy", detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _gone(request: Any) -> bool:
    """The client closed the connection while its upgrade waited (Twisted's Request forgets its channel)."""
    return bool(getattr(request, "_disconnected", False)) or request.channel is None


def _draining(request: Any) -> bool:
    shutdown = getattr(getattr(request.channel.factory, "server", None), "shutdown", None)
    return bool(shutdown is not None and shutdown.draining)
