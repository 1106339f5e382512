"""daphne's upgrade under the handshake cap (chatsite/handshake_gate.py), with fake requests: the slot
handed to the new connection, or given back whenever no connection took it (a bad request, an error);
over the cap an upgrade waits for a slot in arrival order, and is refused with 503 and Retry-After once
its wait is over, when too many wait, when its client is gone (silently) or when the server drains."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from twisted.web.http_headers import Headers

from chatsite import handshake_gate
from chatsite.handshake_gate import GatedWebSocketProtocol, Queue
from realtime import admission
from realtime.admission import HandshakeGate


class Channel:
    def __init__(self) -> None:
        self.refusals: list[tuple[Any, ...]] = []
        self.factory = SimpleNamespace(server=SimpleNamespace(shutdown=SimpleNamespace(draining=False)))

    def refuse(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        self.refusals.append((status, code, headers))


class Transport:
    protocol: Any = None


class Request:
    _disconnected = False

    def __init__(self, upgrade: bytes | None = b"websocket") -> None:
        self.requestHeaders = Headers({b"upgrade": [upgrade]} if upgrade else {})
        self.channel: Channel | None = Channel()
        self.transport = Transport()
        self.connection = GatedWebSocketProtocol()
        self.processed = 0

    def process(self) -> None:  # what daphne does: the TCP connection now belongs to the WebSocket protocol
        self.processed += 1
        self.transport.protocol = self.connection

    @property
    def refusals(self) -> list[tuple[Any, ...]]:
        assert self.channel is not None
        return self.channel.refusals


class Clock:
    """Stands for the reactor's callLater: what is due runs when the test says."""

    def __init__(self) -> None:
        self.due: list[Any] = []

    def __call__(self, delay: float, function: Any) -> None:
        self.due.append(function)

    def run(self) -> None:
        due, self.due = self.due, []
        for function in due:
            function()


@pytest.fixture
def gate(monkeypatch):
    gate = HandshakeGate(limit=1)
    monkeypatch.setattr(admission, "_gate", gate)
    return gate


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(handshake_gate, "_call_later", clock)
    monkeypatch.setattr(handshake_gate, "queue", Queue())
    return clock


def upgrade(request: Request) -> None:
    handshake_gate.upgrade(request, request.process)


def test_only_a_websocket_upgrade_is_gated():
    assert handshake_gate.is_websocket_upgrade(Request(b"WebSocket"))
    assert not handshake_gate.is_websocket_upgrade(Request(b"h2c"))
    assert not handshake_gate.is_websocket_upgrade(Request(None))


def test_the_slot_goes_to_the_new_connection(gate, clock):
    request = Request()
    upgrade(request)

    assert request.processed == 1
    assert gate.pending == 1
    admission.release(request.connection, "dropped")
    assert gate.pending == 0


def test_the_slot_comes_back_when_no_connection_took_it(gate, clock):
    handshake_gate.upgrade(Request(), lambda: None)  # daphne answered 400 to a bad header, say
    assert gate.pending == 0


def test_the_slot_comes_back_when_daphne_fails(gate, clock):
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


def test_over_the_cap_upgrades_wait_and_are_processed_in_arrival_order_as_slots_come_back(gate, clock):
    first, second, third = Request(), Request(), Request()
    upgrade(first)
    upgrade(second)
    upgrade(third)
    assert (first.processed, second.processed, third.processed) == (1, 0, 0)
    assert second.refusals == third.refusals == []

    admission.release(first.connection, "completed")
    clock.run()
    assert (second.processed, third.processed) == (1, 0)

    admission.release(second.connection, "dropped")
    clock.run()
    assert third.processed == 1
    assert gate.pending == 1


def test_a_new_upgrade_does_not_overtake_those_waiting(gate, clock):
    first, second, late = Request(), Request(), Request()
    upgrade(first)
    upgrade(second)
    admission.release(first.connection, "completed")  # a slot is free, but second waits for it

    upgrade(late)
    clock.run()

    assert (second.processed, late.processed) == (1, 0)


def test_an_upgrade_that_waited_its_time_is_refused_with_503_and_retry_after(gate, clock, settings):
    settings.CHAT_HANDSHAKE_QUEUE_SECONDS = 0.000001
    upgrade(Request())
    waiting = Request()
    upgrade(waiting)

    clock.run()  # the sweep

    assert waiting.processed == 0
    assert waiting.refusals == [(503, "busy", {"Retry-After": "1"})]
    assert len(handshake_gate.queue.waiting) == 0


def test_without_a_wait_an_upgrade_over_the_cap_is_refused_at_once(gate, clock, settings):
    settings.CHAT_HANDSHAKE_QUEUE_SECONDS = 0
    upgrade(Request())
    refused = Request()
    upgrade(refused)

    assert refused.processed == 0
    assert refused.refusals == [(503, "busy", {"Retry-After": "1"})]


def test_when_ten_per_slot_wait_the_next_is_refused_at_once(gate, clock):
    upgrade(Request())
    for _ in range(handshake_gate.QUEUE_PER_SLOT):
        upgrade(Request())
    one_too_many = Request()
    upgrade(one_too_many)

    assert one_too_many.refusals == [(503, "busy", {"Retry-After": "1"})]


def test_a_client_that_left_while_waiting_is_skipped(gate, clock):
    first, left, next_one = Request(), Request(), Request()
    upgrade(first)
    upgrade(left)
    upgrade(next_one)
    left._disconnected, left.channel = True, None  # what Twisted's Request does when the connection is lost

    admission.release(first.connection, "completed")
    clock.run()

    assert (left.processed, next_one.processed) == (0, 1)


def test_a_draining_server_refuses_those_waiting(gate, clock):
    upgrade(Request())
    waiting = Request()
    upgrade(waiting)
    assert waiting.channel is not None
    waiting.channel.factory.server.shutdown.draining = True

    clock.run()

    assert waiting.refusals == [(503, "busy", {"Retry-After": "1"})]
