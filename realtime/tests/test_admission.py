"""The cap on handshakes in progress (realtime/admission.py): over it a handshake is refused, under it
one passes, and a slot comes back exactly once however the consumer's connect ended (returned, closed,
raised, cancelled). The daphne side (chatsite/handshake_gate.py) has its tests in chatsite/tests and a
real process in test_e2e_admission.py."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import pytest
from prometheus_client import REGISTRY

from realtime import admission
from realtime.admission import AdmittedSocket, HandshakeGate


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_under_the_cap_a_handshake_passes_and_over_it_it_gets_no_slot():
    gate = HandshakeGate(limit=2)
    refused = sample("chat_handshakes_total", outcome="refused")

    first, second = gate.try_acquire(), gate.try_acquire()
    assert first is not None
    assert second is not None
    assert gate.try_acquire() is None
    gate.refused()  # what the server does with it (or it waits: chatsite/handshake_gate.py)
    assert sample("chat_handshakes_total", outcome="refused") == refused + 1

    first.release("completed")
    assert gate.pending == 1
    assert gate.try_acquire() is not None


def test_a_slot_comes_back_once_whoever_releases_it():
    gate = HandshakeGate(limit=1)
    pending = sample("chat_handshakes_pending")
    slot = gate.try_acquire()
    assert slot is not None
    assert sample("chat_handshakes_pending") == pending + 1
    completed = sample("chat_handshakes_total", outcome="completed")
    dropped = sample("chat_handshakes_total", outcome="dropped")

    slot.release("completed")
    slot.release("dropped")  # the connection ends later: nothing more to give back

    assert gate.pending == 0
    assert not slot.held
    assert sample("chat_handshakes_pending") == pending
    assert sample("chat_handshakes_total", outcome="completed") == completed + 1
    assert sample("chat_handshakes_total", outcome="dropped") == dropped


def test_the_gate_says_when_a_slot_comes_back():
    gate = HandshakeGate(limit=1)
    woken: list[bool] = []
    gate.on_release = lambda: woken.append(True)
    slot = gate.try_acquire()
    assert slot is not None

    slot.release("dropped")

    assert woken == [True]


def test_a_limit_of_zero_is_no_cap():
    gate = HandshakeGate(limit=0)
    assert all(gate.try_acquire() is not None for _ in range(1000))


def test_the_process_gate_is_sized_by_the_setting(settings, monkeypatch):
    monkeypatch.setattr(admission, "_gate", None)
    settings.CHAT_MAX_PENDING_HANDSHAKES = 3
    assert admission.gate().limit == 3
    assert admission.gate() is admission.gate()


class Connection:
    """Stands for daphne's WebSocket protocol (holding the slot); daphne sends with partial(handle_reply, it)."""

    def __init__(self, gate: HandshakeGate) -> None:
        setattr(self, admission.SLOT_ATTRIBUTE, gate.try_acquire())

    async def handle_reply(self, message: dict[str, Any]) -> None:
        pass


class Socket(AdmittedSocket):
    def __init__(self, behaviour: str) -> None:
        super().__init__()
        self.behaviour = behaviour

    async def connect(self) -> None:
        if self.behaviour == "raise":
            raise RuntimeError("the database is gone")
        if self.behaviour == "hang":
            await asyncio.Event().wait()
        if self.behaviour == "close":
            await self.close(code=4401)
            return
        await self.accept()


def socket_on(connection: Connection, behaviour: str) -> Socket:
    socket = Socket(behaviour)
    socket.base_send = partial(Connection.handle_reply, connection)  # what daphne hands an application
    return socket


@pytest.mark.parametrize("behaviour", ["accept", "close"])
async def test_the_slot_comes_back_when_the_consumer_has_connected(behaviour):
    gate = HandshakeGate(limit=1)
    socket = socket_on(Connection(gate), behaviour)

    await socket.websocket_connect({"type": "websocket.connect"})

    assert gate.pending == 0


async def test_the_slot_comes_back_when_connect_fails():
    gate = HandshakeGate(limit=1)
    socket = socket_on(Connection(gate), "raise")

    with pytest.raises(RuntimeError):
        await socket.websocket_connect({"type": "websocket.connect"})

    assert gate.pending == 0


async def test_the_slot_comes_back_when_connect_is_cancelled():
    gate = HandshakeGate(limit=1)
    socket = socket_on(Connection(gate), "hang")
    task = asyncio.create_task(socket.websocket_connect({"type": "websocket.connect"}))
    await asyncio.sleep(0)
    assert gate.pending == 1

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert gate.pending == 0


async def test_a_consumer_outside_daphne_holds_no_slot():
    gate = HandshakeGate(limit=1)
    held = gate.try_acquire()
    socket = Socket("accept")
    socket.base_send = lambda message: asyncio.sleep(0)  # a test communicator's send, not daphne's partial

    await socket.websocket_connect({"type": "websocket.connect"})

    assert held is not None
    assert held.held
