"""The fence around the fast path, against the installed daphne, autobahn and Twisted, and against
classes that lack what realtime.wire uses."""

from __future__ import annotations

import logging
from functools import partial

import pytest
from daphne.ws_protocol import WebSocketProtocol

from realtime import wire, wire_fence
from realtime.hub.delivery import COUNTERS, deliver_all
from realtime.tests.test_wire import FakePrepared, FakeSocket, FakeTransport, PreparingProtocol
from realtime.wire_fence import REQUIREMENTS, Requirement


@pytest.fixture
def fenced():
    """Put the process's fence back as it was after the test."""
    before = wire_fence._state
    yield
    wire_fence._state = before
    wire_fence._paths_logged.clear()


def test_the_installed_versions_have_everything_the_fast_path_uses(fenced, caplog):
    caplog.set_level(logging.INFO, logger="realtime.wire_fence")

    result = wire_fence.fence()

    assert result == wire_fence.FastPath(direct=True, closes=True, missing=())
    assert "Fast path on" in caplog.text
    assert wire_fence.versions() in caplog.text
    assert "daphne 4." in wire_fence.versions()


def test_every_private_name_wire_uses_is_fenced():
    fenced_names = {requirement.name for requirement in REQUIREMENTS}

    for name in ("dataBuffer", "offset", "_tempDataLen", "_writeDisconnected", "_perMessageCompress", "send_queue"):
        assert name in fenced_names


class RenamedTransport:
    """A Twisted release that renamed the write buffer's offset."""

    dataBuffer = b""
    write_offset = 0

    def __init__(self) -> None:
        self.tempDataLength = 0


def test_a_missing_attribute_turns_the_direct_path_off_and_is_named(fenced, caplog):
    requirements = [
        *REQUIREMENTS,
        Requirement(RenamedTransport, "dataBuffer", "class", "direct"),
        Requirement(RenamedTransport, "offset", "class", "direct"),
        Requirement(RenamedTransport, "_tempDataLen", "instance", "direct"),
    ]

    result = wire_fence.fence(requirements)

    assert (result.direct, result.closes) == (False, True)
    assert [name.rsplit(".", 1)[-1] for name in result.missing] == ["offset", "_tempDataLen"]
    warning = next(record for record in caplog.records if record.levelno == logging.WARNING)
    assert "RenamedTransport.offset" in warning.getMessage()
    assert "RenamedTransport._tempDataLen" in warning.getMessage()
    assert wire_fence.versions() in warning.getMessage()


def test_with_the_direct_path_off_sockets_take_the_asgi_path(fenced):
    wire_fence.fence([*REQUIREMENTS, Requirement(RenamedTransport, "offset", "class", "direct")])
    protocol = PreparingProtocol(FakeTransport())

    assert wire.daphne_protocol(partial(lambda p, m: None, protocol)) is protocol  # closes still work
    assert wire_fence.socket_path(protocol) is False


def test_without_what_closes_need_daphnes_connection_is_not_used_at_all(fenced):
    class OldAutobahn:
        CONFIG_ATTRS = ("failByDrop",)

    wire_fence.fence([*REQUIREMENTS, Requirement(OldAutobahn, "closeHandshakeTimeout", "option", "close")])
    protocol = PreparingProtocol(FakeTransport())

    assert wire_fence.fast_path().closes is False
    assert wire.daphne_protocol(partial(lambda p, m: None, protocol)) is None


def test_attributes_assigned_in_a_method_count_as_present():
    class Connection:
        def connected(self) -> None:
            self.queue: list[bytes] = []

    assert wire_fence.present(Requirement(Connection, "queue", "instance", "direct"))
    assert not wire_fence.present(Requirement(Connection, "queue", "class", "direct"))
    assert wire_fence.present(Requirement(WebSocketProtocol, "send_queue", "instance", "direct"))


def test_which_path_sockets_take_is_logged_once_per_path(fenced, caplog):
    caplog.set_level(logging.INFO, logger="realtime.wire_fence")
    wire_fence.fence()
    caplog.clear()
    protocol = PreparingProtocol(FakeTransport())

    assert wire_fence.socket_path(protocol) is True
    assert wire_fence.socket_path(protocol) is True
    assert wire_fence.socket_path(None) is False
    assert wire_fence.socket_path(None) is False

    fast, asgi = (record.getMessage() for record in caplog.records)
    assert "on the fast path" in fast
    assert "ASGI path" in asgi
    assert "middleware wrapping send" in asgi


def test_fast_path_deliveries_are_counted(settings):
    before = (COUNTERS.fast_path, COUNTERS.fallback)
    protocols = [PreparingProtocol(FakeTransport()) for _ in range(3)]

    sockets = [FakeSocket(protocol) for protocol in protocols]

    deliver_all(sockets, "{}")

    assert (COUNTERS.fast_path, COUNTERS.fallback) == (before[0] + 3, before[1])
    assert all(p.transport.sent == [FakePrepared.payloadHybi] for p in protocols)
    assert [socket.slow for socket in sockets] == [0, 0, 0]
