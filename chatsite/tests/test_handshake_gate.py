"""daphne's upgrade under the handshake cap (chatsite/handshake_gate.py), with fake requests: refused
over the cap with 503 and Retry-After before daphne sees the request; the slot handed to the new
connection, or given back whenever no connection took it (a bad request, an error)."""

from __future__ import annotations

from typing import Any

import pytest
from twisted.web.http_headers import Headers

from chatsite import handshake_gate
from chatsite.handshake_gate import GatedWebSocketProtocol
from realtime import admission
from realtime.admission import HandshakeGate


class Channel:
    def __init__(self) -> None:
        self.refusals: list[tuple[Any, ...]] = []

    def refuse(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        self.refusals.append((status, code, headers))


class Transport:
    protocol: Any = None


class Request:
    def __init__(self, upgrade: bytes | None = b"websocket") -> None:
        self.requestHeaders = Headers({b"upgrade": [upgrade]} if upgrade else {})
        self.channel = Channel()
        self.transport = Transport()


@pytest.fixture
def gate(monkeypatch):
    gate = HandshakeGate(limit=1)
    monkeypatch.setattr(admission, "_gate", gate)
    return gate


def test_only_a_websocket_upgrade_is_gated():
    assert handshake_gate.is_websocket_upgrade(Request(b"WebSocket"))
    assert not handshake_gate.is_websocket_upgrade(Request(b"h2c"))
    assert not handshake_gate.is_websocket_upgrade(Request(None))


def test_over_the_cap_the_upgrade_is_refused_with_503_and_retry_after_before_daphne_sees_it(gate):
    gate.try_acquire()
    request = Request()
    processed = []

    handshake_gate.upgrade(request, lambda: processed.append(True))

    assert processed == []
    assert request.channel.refusals == [(503, "busy", {"Retry-After": "1"})]


def test_the_slot_goes_to_the_new_connection(gate):
    request = Request()
    connection = GatedWebSocketProtocol()

    def process() -> None:  # what daphne does: the TCP connection now belongs to the WebSocket protocol
        request.transport.protocol = connection

    handshake_gate.upgrade(request, process)

    assert gate.pending == 1
    admission.release(connection, "dropped")
    assert gate.pending == 0


def test_the_slot_comes_back_when_no_connection_took_it(gate):
    handshake_gate.upgrade(Request(), lambda: None)  # daphne answered 400 to a bad header, say
    assert gate.pending == 0


def test_the_slot_comes_back_when_daphne_fails(gate):
    def process() -> None:
        raise RuntimeError("could not build the protocol")

    with pytest.raises(RuntimeError):
        handshake_gate.upgrade(Request(), process)
    assert gate.pending == 0


def test_a_connection_lost_before_it_got_its_slot_gives_it_back_at_once(gate):
    connection = GatedWebSocketProtocol()
    connection.lost = True
    slot = gate.try_acquire()
    assert slot is not None

    connection.hold(slot)

    assert gate.pending == 0
