"""daphne's HTTP server with every request body bounded and a deadline on request headers.

Under plain daphne, Twisted reads a whole request body before the application sees a byte of it, and
then parses every ``multipart/form-data`` and urlencoded POST into ``request.args`` in memory, which
daphne never uses: a 50 MiB multipart POST to any path cost the server some 600 MiB, a 300 MiB chunked
one 3.6 GiB, all before authentication; a multipart body Python's email parser rejected got a bare
``400`` with no headers. And Twisted's only clock on a connection is an idle timeout that every byte
resets, so a client sending a header line every few seconds held its connection for ever.

So, for every connection (``python -m chatsite.serve``, ``manage.py runserver`` and the Docker image):

- Twisted's form parsing is off: the body reaches Django as it came, and Django's parsers (with their
  own limits) answer a malformed one with the API's JSON errors.
- A body is refused while it streams in once it is over its bound: from ``Content-Length`` before the
  first body byte (instead of ``100 Continue``), and for chunked bodies as soon as the bytes received
  cross it. The bound is ``CHAT_MAX_BODY_BYTES`` (an upload request with its multipart framing) for
  ``multipart/form-data``, and ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (what Django accepts of any other body)
  for the rest. The answer is a JSON 413 ``too_large``.
- The request line and headers must be complete within ``CHAT_HEADER_TIMEOUT`` seconds of the
  connection opening (or, on a kept-alive connection, of the previous response); WebSocket handshakes
  are HTTP requests up to that point, so they are covered too.
- Errors the server answers itself (malformed HTTP, the two above, and daphne's own error pages) are
  JSON in the API's ``{"detail", "code"}`` shape, with an access-log line.
- WebSocket handshakes in progress are capped per process (``CHAT_MAX_PENDING_HANDSHAKES``): over the
  cap an upgrade request waits for a slot, then is answered ``503`` with ``Retry-After``
  (``chatsite.handshake_gate``).
- SIGTERM and SIGINT shut down gracefully (``chatsite.shutdown``): no new connections, sockets closed
  with 1012, requests in flight finished (without keep-alive), exit within ``CHAT_SHUTDOWN_TIMEOUT``.

HTTP/2 is not offered: daphne negotiates it only over TLS with Twisted's optional extras, which this
project never installs or configures.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import Any, cast

from daphne import server as daphne_server
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from daphne.utils import parse_x_forwarded_for
from django.conf import settings
from twisted.internet.interfaces import IDelayedCall, ITCPTransport
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure
from twisted.web import http

from chatsite import handshake_gate
from chatsite.shutdown import GracefulShutdown

logger = logging.getLogger(__name__)

# After refusing a body, keep reading (and dropping) what the client is still sending for this long,
# so that closing does not reset the connection before the client has read the answer.
LINGER_SECONDS = 2.0
_DAPHNE_ERROR_CODES = {400: "parse_error", 500: "server_error", 503: "unavailable"}


def body_limit(content_type: bytes | None) -> int:
    """The largest body accepted with this Content-Type: uploads travel as multipart, nothing else may
    be larger than what Django itself accepts of non-file data."""
    largest = settings.CHAT_MAX_BODY_BYTES
    media_type = (content_type or b"").split(b";", 1)[0].strip().lower()
    if media_type == b"multipart/form-data" or settings.DATA_UPLOAD_MAX_MEMORY_SIZE is None:
        return largest
    return min(largest, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def error_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> bytes:
    """A complete HTTP/1.1 answer in the API's error shape, after which the connection closes."""
    body = json.dumps({"detail": detail, "code": code, **extra}).encode()
    more = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    head = (
        f"HTTP/1.1 {status} {http.RESPONSES.get(status, b'Error').decode()}\r\n"
        f"Content-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n{more}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class BoundedRequest(WebRequest):
    """daphne's request without Twisted's form parsing, counting body bytes against its bound."""

    body_limit: int | None = None  # set by the channel once the headers are in
    body_received = 0

    def __init__(self, channel: BoundedChannel, *args: Any, **kwargs: Any) -> None:
        super().__init__(channel, *args, parsePOSTFormSubmission=False, **kwargs)

    def handleContentChunk(self, data: bytes) -> None:
        if self.channel.refused:
            return
        self.body_received += len(data)
        if self.body_limit is not None and self.body_received > self.body_limit:
            self.channel.refuse_body(self.body_limit)
            return
        super().handleContentChunk(data)

    def process(self) -> Any:
        if self.requestHeaders.hasHeader(b"transfer-encoding"):
            # The whole body has arrived by now, and Django parses multipart only with a length.
            self.requestHeaders.removeHeader(b"transfer-encoding")
            self.requestHeaders.setRawHeaders(b"content-length", [str(self.body_received).encode()])
        if handshake_gate.is_websocket_upgrade(self):
            return handshake_gate.upgrade(self, super().process)
        return super().process()

    def basic_error(self, status: int, status_text: bytes, body: str) -> None:
        """daphne's own errors (bad header names, path encoding, a crashed application) as JSON."""
        payload = json.dumps({"detail": body, "code": _DAPHNE_ERROR_CODES.get(status, "error")}).encode()
        headers = [(b"Content-Type", b"application/json"), (b"Content-Length", str(len(payload)).encode())]
        self.handle_reply({"type": "http.response.start", "status": status, "headers": headers})
        self.handle_reply({"type": "http.response.body", "body": payload})


class BoundedChannel(http.HTTPChannel):
    """One HTTP/1.1 connection: a deadline for each request's headers, and bodies kept to their bound."""

    header_timeout: float = 0  # seconds; set by the factory (0: no deadline)
    refused = False
    _deadline: IDelayedCall | None = None
    _linger: IDelayedCall | None = None
    _waiting_since = 0.0

    def connectionMade(self) -> None:
        super().connectionMade()
        self._await_headers()

    def dataReceived(self, data: bytes) -> None:
        if not self.refused:
            super().dataReceived(data)

    def lineReceived(self, line: bytes) -> None:
        if not self.refused:
            super().lineReceived(line)

    def rawDataReceived(self, data: bytes) -> None:
        if not self.refused:
            super().rawDataReceived(data)

    def allHeadersReceived(self) -> None:
        self._cancel(self._deadline)
        request = self.requests[-1]
        limit = body_limit(request.requestHeaders.getRawHeaders(b"content-type", [None])[0])
        if self.length is not None and self.length > limit:
            self.refuse_body(limit)  # before any body byte, and instead of "100 Continue"
            return
        request.body_limit = limit
        super().allHeadersReceived()

    def allContentReceived(self) -> None:
        if not self.refused:
            super().allContentReceived()

    def requestDone(self, request: http.Request) -> None:
        # Started before the parent replays pipelined bytes, whose complete headers cancel it at once.
        if self.persistent:
            self._await_headers()
        super().requestDone(request)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._cancel(self._deadline)
        self._cancel(self._linger)
        super().connectionLost(reason)

    def checkPersistence(self, request: http.Request, version: bytes) -> bool:
        """No keep-alive while the server drains: the client's next request goes to another replica."""
        shutdown = getattr(getattr(self.factory, "server", None), "shutdown", None)
        if shutdown is not None and shutdown.draining:
            request.responseHeaders.setRawHeaders(b"connection", [b"close"])
            return False
        persistent: bool = super().checkPersistence(request, version)
        return persistent

    def _respondToBadRequestAndDisconnect(self) -> None:
        """Twisted's answer to malformed HTTP (request line, headers, chunked framing): a bare 400."""
        self.refuse(400, "parse_error", "Malformed HTTP request.")

    def refuse_body(self, limit: int) -> None:
        self.refuse(413, "too_large", f"The request body is larger than {limit} bytes.", limit=limit)

    def refuse(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        """Answer ``status`` in JSON and close, reading and dropping whatever the client still sends."""
        if self.refused or self.transport is None:
            return
        self.refused = True
        self._cancel(self._deadline)
        answer = error_response(status, code, detail, headers, **extra)
        self.transport.write(answer)
        self._access_log(status, len(answer))
        self.setTimeout(None)
        if hasattr(self.transport, "loseWriteConnection"):  # a TCP connection can be half-closed
            tcp = cast(ITCPTransport, self.transport)
            tcp.loseWriteConnection()
            self._linger = self.callLater(LINGER_SECONDS, tcp.abortConnection)
        else:
            self.transport.loseConnection()

    def _await_headers(self) -> None:
        self._cancel(self._deadline)
        self._waiting_since = time.time()
        if self.header_timeout:
            self._deadline = self.callLater(self.header_timeout, self._headers_too_slow)

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if self.requests:  # a request line arrived: tell the client why
            self.refuse(408, "timeout", f"The request headers did not arrive within {self.header_timeout:g} s.")
        elif self.transport is not None:  # an idle connection: nothing to answer
            self.transport.loseConnection()

    @staticmethod
    def _cancel(call: IDelayedCall | None) -> None:
        if call is not None and call.active():
            call.cancel()

    def _access_log(self, status: int, size: int) -> None:
        """The access-log line daphne writes for the responses it sends itself."""
        server = getattr(self.factory, "server", None)
        if server is None:
            return
        details = {
            "path": _text(getattr(self, "_path", b"-")),
            "method": _text(getattr(self, "_command", b"-")),
            "status": status,
            "client": self._client(server),
            "time_taken": time.time() - self._waiting_since,
            "size": size,
        }
        try:
            server.log_action("http", "complete", details)
        except Exception:
            logger.exception("Could not write an access-log line")

    def _client(self, server: Server) -> str | None:
        peer: Any = self.transport.getPeer() if self.transport is not None else None  # IPv4/IPv6 or a socket path
        address = [str(peer.host), peer.port] if hasattr(peer, "host") and hasattr(peer, "port") else None
        if self.requests and server.proxy_forwarded_address_header:
            with contextlib.suppress(UnicodeDecodeError, ValueError):
                address, _ = parse_x_forwarded_for(
                    self.requests[-1].requestHeaders,
                    server.proxy_forwarded_address_header,
                    server.proxy_forwarded_port_header,
                    server.proxy_forwarded_proto_header,
                    address,
                    None,
                )
        return "{}:{}".format(*address) if address else None


def _text(value: bytes) -> str:
    return value.decode("ascii", "replace")


class BoundedHTTPFactory(HTTPFactory):
    """daphne's factory, building ``BoundedChannel`` connections with ``BoundedRequest`` requests."""

    protocol = BoundedChannel  # in place of Twisted's wrapper that may switch to HTTP/2 after TLS

    def buildProtocol(self, addr: Any) -> BoundedChannel:
        channel = super().buildProtocol(addr)
        channel.requestFactory = BoundedRequest
        channel.header_timeout = settings.CHAT_HEADER_TIMEOUT
        return channel

    def acceptableProtocols(self) -> list[bytes]:
        return [b"http/1.1"]


class ChatServer(Server):
    """daphne's Server serving HTTP through ``BoundedHTTPFactory`` and WebSockets through
    ``GatedWebSocketFactory``, shutting down gracefully.

    ``Server.run`` builds its factories from the ``HTTPFactory`` and ``WebSocketFactory`` names in daphne's
    server module and offers no other hook, so those names are pointed at ours while the server runs.
    Twisted's SIGTERM and SIGINT handlers call the reactor's ``sigTerm``/``sigInt``, which stop it at once;
    while the server runs they start ``GracefulShutdown`` instead (when daphne installs signal handlers at all).
    """

    shutdown: GracefulShutdown | None = None

    def run(self) -> None:
        from twisted.internet import reactor

        self.ports: list[Any] = []
        self.shutdown = GracefulShutdown(
            self, reactor, timeout=float(settings.CHAT_SHUTDOWN_TIMEOUT), listening=lambda: list(self.ports)
        )
        originals = daphne_server.HTTPFactory, daphne_server.WebSocketFactory
        daphne_server.HTTPFactory = BoundedHTTPFactory
        daphne_server.WebSocketFactory = handshake_gate.GatedWebSocketFactory
        reactor.sigTerm = reactor.sigInt = self.shutdown.signalled  # type: ignore[attr-defined]  # instance attributes over the methods
        try:
            super().run()
        finally:
            daphne_server.HTTPFactory, daphne_server.WebSocketFactory = originals
            for name in ("sigTerm", "sigInt"):
                vars(reactor).pop(name, None)

    def listen_success(self, port: Any) -> None:
        self.ports.append(port)
        super().listen_success(port)
