"""The daphne fast path: prepared frames written to the socket, slow readers closed.

Fakes stand in for autobahn's protocol and Twisted's transport (the real ones are exercised by the
end-to-end tests, which run daphne); these tests pin down the decisions: when to write directly, when
to fall back to the buffered path, and when a reader is too slow.
"""

from functools import partial

import pytest
from daphne.ws_protocol import WebSocketProtocol

from realtime import wire
from realtime.hub.delivery import deliver_all
from realtime.tests import fakes


class FakeTransport:
    TLS = False

    def __init__(self, *, accepts: int | None = None, buffered: int = 0) -> None:
        self.connected, self.disconnecting, self._writeDisconnected = True, False, False
        self.dataBuffer, self.offset = b"x" * buffered, 0
        self._tempDataLen = 0
        self.accepts = accepts
        self.sent: list[bytes] = []
        self.queued: list[bytes] = []

    def writeSomeData(self, data: bytes) -> int:
        taken = len(data) if self.accepts is None else min(self.accepts, len(data))
        self.sent.append(bytes(data[:taken]))
        return taken

    def write(self, data: bytes) -> None:
        self.queued.append(bytes(data))
        self._tempDataLen += len(data)


class FakePrepared:
    payloadHybi = b"\x81\x05hello"


class FakeProtocol(WebSocketProtocol):  # type: ignore[misc]  # daphne ships no type information
    def __init__(self, transport: FakeTransport) -> None:  # no daphne server behind it
        self.transport = transport
        self._perMessageCompress: object | None = None
        self.send_queue: list[tuple[bytes, bool]] = []
        self.state = WebSocketProtocol.STATE_OPEN
        self.prepared_via_autobahn = 0

    def sendPreparedMessage(self, prepared) -> None:
        self.prepared_via_autobahn += 1


def test_the_protocol_is_found_behind_daphnes_send():
    protocol = FakeProtocol(FakeTransport())

    assert wire.daphne_protocol(partial(lambda p, m: None, protocol)) is protocol
    assert wire.daphne_protocol(lambda message: None) is None
    assert wire.daphne_protocol(partial(print, "not a protocol")) is None


def test_an_idle_connection_gets_the_frame_straight_on_the_socket():
    transport = FakeTransport()
    protocol = FakeProtocol(transport)

    wire.send_prepared(protocol, FakePrepared())

    assert transport.sent == [FakePrepared.payloadHybi]
    assert transport.queued == []


def test_what_the_kernel_does_not_take_is_queued_in_order():
    transport = FakeTransport(accepts=3)
    protocol = FakeProtocol(transport)

    wire.send_prepared(protocol, FakePrepared())

    assert transport.sent[0] + transport.queued[0] == FakePrepared.payloadHybi


@pytest.mark.parametrize(
    "busy",
    ["buffered", "autobahn_queue", "compression", "tls", "closing"],
)
def test_a_busy_or_special_connection_goes_through_autobahn(busy):
    transport = FakeTransport(buffered=10 if busy == "buffered" else 0)
    protocol = FakeProtocol(transport)
    if busy == "autobahn_queue":
        protocol.send_queue.append((b"earlier", False))
    if busy == "compression":
        protocol._perMessageCompress = object()
    if busy == "tls":
        transport.TLS = True
    if busy == "closing":
        transport.disconnecting = True

    wire.send_prepared(protocol, FakePrepared())

    assert transport.sent == []
    assert protocol.prepared_via_autobahn == 1


class FakeSocket(fakes.FakeSocket):
    """A socket with a daphne connection to write to directly (None: the ASGI path)."""

    def __init__(self, protocol: FakeProtocol | None = None) -> None:
        super().__init__()
        self.protocol = protocol

    def direct(self) -> FakeProtocol | None:
        return self.protocol


class PreparingProtocol(FakeProtocol):
    class factory:
        @staticmethod
        def prepareMessage(payload: bytes):
            return FakePrepared()


def test_a_reader_that_falls_behind_is_closed_and_others_still_get_the_frame(settings):
    settings.CHAT_SLOW_READER_LIMIT = 100
    behind, connection = PreparingProtocol(FakeTransport(accepts=0)), PreparingProtocol(FakeTransport())
    behind.transport._tempDataLen = 200  # already far behind
    slow, fine, plain = FakeSocket(behind), FakeSocket(connection), FakeSocket()

    deliver_all({slow, fine, plain}, '{"type":"message"}')

    assert slow.slow == 1
    assert fine.slow == 0
    assert connection.transport.sent == [FakePrepared.payloadHybi]
    assert plain.delivered == ['{"type":"message"}']


def test_closed_connections_are_skipped(settings):
    connection = PreparingProtocol(FakeTransport())
    connection.state = WebSocketProtocol.STATE_CLOSED

    deliver_all({FakeSocket(connection)}, "{}")

    assert connection.transport.sent == []
