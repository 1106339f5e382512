"""daphne's WebSocket upgrades under the per-process cap on handshakes in progress (realtime/admission.py).

daphne turns an HTTP request with ``Upgrade: websocket`` into a WebSocket connection inside
``WebRequest.process``: it builds the WebSocket protocol, hands it the TCP connection and replays the
request to it (autobahn's handshake, then the ASGI application). ``upgrade`` runs that under a slot: over
the cap the request is answered ``503`` with ``Retry-After`` and no upgrade, before autobahn, the
application, the token check or the database see it, which costs the server an HTTP parse and one write.
Otherwise the slot goes to the new connection, a ``GatedWebSocketProtocol``, which gives it back when the
connection ends, unless its consumer finished connecting first (``realtime.admission.AdmittedSocket``).
``chatsite.server.ChatServer`` builds its WebSocket connections from ``GatedWebSocketFactory``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure

from realtime import admission
from realtime.admission import Slot

# What a refused client is told to wait, in seconds (HTTP allows whole seconds only); clients add jitter.
RETRY_AFTER_SECONDS = 1


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


def upgrade(request: Any, process: Callable[[], Any]) -> Any:
    """daphne's ``process`` of a WebSocket upgrade ``request``, under a slot; refused over the cap."""
    slot = admission.gate().try_acquire()
    if slot is None:
        detail = "Too many connections are being opened; try again later."
        request.channel.refuse(503, "busy", detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        return None
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
