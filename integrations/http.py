"""One outgoing POST to a checked target: connected to the checked address, short timeouts, bounded read.

Redirects are not followed (a 3xx is a failed try): following one would skip the address check.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass

from integrations.ssrf import Target

USER_AGENT = "chat-webhooks/1"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # at most the bound the caller gave; longer answers are cut


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to ``address`` while the request names ``host``."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to ``address``, with the certificate checked against ``host`` (SNI too)."""

    def __init__(self, target: Target, timeout: float) -> None:
        self.context = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self.context)
        self.address = target.address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.context.wrap_socket(raw, server_hostname=self.host)


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float, max_response: int) -> Answer:
    """POST ``body`` to ``target``; OSError (refused, timed out, TLS) and http.client errors propagate."""
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = cls(target, timeout)
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
        )
        response = connection.getresponse()
        return Answer(status=response.status, body=response.read(max_response))
    finally:
        connection.close()
