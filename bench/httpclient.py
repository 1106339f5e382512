"""A minimal keep-alive HTTP/1.1 client for closed-loop load: raw request bytes out, status code back.

General clients (aiohttp, httpx) spend 100-200 µs of client CPU per request, enough to make the load
generator the bottleneck against a fast server; writing prepared bytes and letting httptools (llhttp,
in C) parse the answer costs a small fraction of that. Bodies are read and discarded.
"""

from __future__ import annotations

import asyncio
from typing import cast

import httptools


class HttpError(ConnectionError):
    """The connection broke or the answer could not be parsed."""


class Connection(asyncio.Protocol):
    """One persistent connection; one request in flight at a time (the closed loop)."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[int] | None = None

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(cls, host, port)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio subclasses

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpError(f"unparseable answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._fail(HttpError("connection closed"))

    def on_message_complete(self) -> None:  # httptools callback
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(self._parser.get_status_code())

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    async def send(self, raw: bytes) -> int:
        """Write one request and return the answer's status code once the whole answer has arrived."""
        if self._transport is None:
            raise HttpError("connection closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(raw)
        return await self._waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def request(method: str, host: str, path: str, *, token: str, body: bytes = b"") -> bytes:
    """The bytes of one HTTP/1.1 keep-alive request with a bearer token (and a JSON body if any)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Authorization: Bearer {token}", "Accept: */*"]
    if body or method in {"POST", "PUT", "PATCH"}:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
