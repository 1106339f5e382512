"""autobahn's per-connection debug line is formatted only when debug logging can write it."""

from __future__ import annotations

import pytest
from autobahn.websocket import protocol
from daphne.ws_protocol import WebSocketProtocol

from chatsite.handshake_log import format_only_when_debugging


@pytest.fixture
def patched(monkeypatch):
    monkeypatch.setattr(protocol, "pformat", protocol.pformat)  # undone after the test
    format_only_when_debugging()
    format_only_when_debugging()  # idempotent
    return protocol.pformat


def test_nothing_is_formatted_while_debug_logging_is_off(patched, monkeypatch):
    monkeypatch.setattr(WebSocketProtocol.log, "_log_level", "info", raising=False)

    assert patched([("openHandshakeTimeout", 5, "WebSocketServerFactory")]) == "(not formatted: debug logging is off)"


def test_the_line_is_as_before_with_debug_logging_on(patched, monkeypatch):
    from pprint import pformat

    monkeypatch.setattr(WebSocketProtocol.log, "_log_level", "debug", raising=False)
    attrs = [("openHandshakeTimeout", 5, "WebSocketServerFactory")]

    assert patched(attrs) == pformat(attrs)
