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

Two closes that daphne's ASGI interface cannot express are also made here. daphne passes a
``websocket.close`` code to autobahn's ``sendClose``, which allows an application 1000 and 3000-4999
only and raises for anything else, so the registered codes this protocol uses (1011, 1013) are sent
as a close frame by the connection itself, the way autobahn sends 1009 and daphne 1011. And autobahn
answers a protocol error (a frame over daphne's 1 MiB limit included) by dropping TCP unless
``failByDrop`` is off, which daphne never sets: the client saw a reset (1006) instead of 1009.

All of this relies on names that daphne, autobahn and Twisted do not promise to keep (neither autobahn
nor Twisted is pinned by daphne). So the first hub of a process runs ``realtime.wire_fence``: every
attribute used here is looked up on the installed classes; when one is missing, the direct writes (or
also the closes) are switched off with a warning naming it and the versions, and broadcasts take the
ASGI path.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from realtime.wire_fence import fast_path

try:  # daphne is the server we ship with; everything below degrades to ASGI without it
    from daphne.ws_protocol import WebSocketProtocol
except ImportError:  # pragma: no cover
    WebSocketProtocol = None


def daphne_protocol(send: Any) -> Any | None:
    """The daphne WebSocket protocol behind an ASGI ``send`` callable, or None (also when the fence
    found what closes need missing)."""
    if WebSocketProtocol is None or not isinstance(send, partial) or not send.args or not fast_path().closes:
        return None
    protocol = send.args[0]
    if isinstance(protocol, WebSocketProtocol) and hasattr(protocol, "sendPreparedMessage"):
        return protocol
    return None


_OPEN: int = WebSocketProtocol.STATE_OPEN if WebSocketProtocol is not None else 3


def is_open(protocol: Any) -> bool:
    state: int = protocol.state
    return state == _OPEN


def is_application_code(code: int) -> bool:
    """A close code daphne's ``websocket.close`` accepts (autobahn's ``sendClose``: 1000, 3000-4999)."""
    return code == 1000 or 3000 <= code <= 4999


# Registered codes an endpoint may send (RFC 6455 7.4.1, IANA), as autobahn checks them in a close frame
# it receives (``CLOSE_STATUS_CODES_ALLOWED``); browsers and the websockets library accept them too.
REGISTERED_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013})


def is_legal_close_code(code: int) -> bool:
    """A code an endpoint may put in a close frame: registered, or 3000-4999."""
    return code in REGISTERED_CLOSE_CODES or is_application_code(code)


def close_on_protocol_errors(protocol: Any) -> None:
    """Answer a protocol error (an oversized frame: 1009) with a closing handshake, not a TCP reset."""
    protocol.failByDrop = False


def send_close(protocol: Any, code: int, *, grace: float | None = None) -> None:
    """Start the closing handshake with a registered code; ``grace``: seconds the client has to answer
    (to read what is still queued before the close frame) before the connection is dropped."""
    if not is_legal_close_code(code):
        raise ValueError(f"{code} is not a close code an endpoint may send")
    if not is_open(protocol):
        return
    if grace is not None:
        protocol.closeHandshakeTimeout = grace
    protocol.sendCloseFrame(code=code, isReply=False)


def prepare(protocol: Any, frame: str) -> Any:
    """A text frame, framed once, that any connection of the same server can send."""
    return protocol.factory.prepareMessage(frame.encode())


def send_prepared(protocol: Any, prepared: Any) -> None:
    """Send a prepared frame; when nothing is queued on the connection, straight to the socket.

    Twisted buffers every write and sends it on the next reactor turn, registering and unregistering
    the socket with epoll around it: three system calls and most of a delivery's cost. When the
    transport holds nothing yet, a non-blocking ``send`` now is equivalent (TCP keeps the order);
    whatever the kernel does not take goes through Twisted's buffer as usual.
    """
    transport = protocol.transport
    if protocol._perMessageCompress is not None or protocol.send_queue or not _idle_plain_tcp(transport):
        protocol.sendPreparedMessage(prepared)
        return
    data = prepared.payloadHybi
    written = transport.writeSomeData(data)
    if isinstance(written, int) and written == len(data):
        return
    transport.write(data[written:] if isinstance(written, int) else data)


def _idle_plain_tcp(transport: Any) -> bool:
    return (
        transport is not None
        and not getattr(transport, "TLS", True)
        and getattr(transport, "connected", False)
        and not getattr(transport, "disconnecting", True)
        and not getattr(transport, "_writeDisconnected", True)
        and hasattr(transport, "writeSomeData")
        and buffered(transport) == 0
    )


def buffered_bytes(protocol: Any) -> int:
    """Bytes written to the socket's transport and not yet accepted by the kernel."""
    transport = getattr(protocol, "transport", None)
    return 0 if transport is None else buffered(transport)


def buffered(transport: Any) -> int:
    pending = len(getattr(transport, "dataBuffer", b"")) - getattr(transport, "offset", 0)
    return pending + getattr(transport, "_tempDataLen", 0)
