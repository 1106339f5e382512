"""Writing one prepared WebSocket frame to many daphne sockets, and seeing how far behind each one is.

ASGI gives an application one way to write to a socket: ``await send({"type": "websocket.send", ...})``,
which daphne turns into a WebSocket frame for that socket alone (framing, a log line built eagerly in
autobahn, a check of the message) and never tells the application that a socket's write buffer is
growing. For a broadcast the frame bytes are the same for every recipient, and autobahn, under daphne,
can send a *prepared* message to many connections. daphne hands each application instance
``functools.partial(server.handle_reply, protocol)`` as its ``send``; when that is what we got, the hub
prepares a broadcast frame once and writes it to each protocol directly, and reads the transport's
buffered bytes to find slow readers. Any other server (or a test communicator) takes the ASGI path.
Measured effect and method: README, "Performance".
"""

from __future__ import annotations

from functools import partial
from typing import Any

try:  # daphne is the server we ship with; everything below degrades to ASGI without it
    from daphne.ws_protocol import WebSocketProtocol
except ImportError:  # pragma: no cover
    WebSocketProtocol = None  # type: ignore[assignment,misc]


def daphne_protocol(send: Any) -> Any | None:
    """The daphne WebSocket protocol behind an ASGI ``send`` callable, or None."""
    if WebSocketProtocol is None or not isinstance(send, partial) or not send.args:
        return None
    protocol = send.args[0]
    if isinstance(protocol, WebSocketProtocol) and hasattr(protocol, "sendPreparedMessage"):
        return protocol
    return None


def is_open(protocol: Any) -> bool:
    return protocol.state == WebSocketProtocol.STATE_OPEN


def prepare(protocol: Any, frame: str) -> Any:
    """A text frame, framed once, that any connection of the same server can send."""
    return protocol.factory.prepareMessage(frame.encode())


def send_prepared(protocol: Any, prepared: Any) -> None:
    protocol.sendPreparedMessage(prepared)


def buffered_bytes(protocol: Any) -> int:
    """Bytes written to the socket's transport and not yet accepted by the kernel."""
    transport = getattr(protocol, "transport", None)
    if transport is None:
        return 0
    pending = len(getattr(transport, "dataBuffer", b"")) - getattr(transport, "offset", 0)
    return pending + getattr(transport, "_tempDataLen", 0)
