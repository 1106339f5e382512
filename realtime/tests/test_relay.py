"""The channel layer of a process without a hub (a gunicorn worker): one loop for the process, events in
order, bounded waits, and an outage ridden out in order."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from realtime.kernel import relay as relay_module
from realtime.kernel.relay import Relay
from realtime.tests.fakes import FakeLayer


class RecordingLayer(FakeLayer):
    """Also records the event loop and thread of every send."""

    def __init__(self) -> None:
        super().__init__()
        self.loops: set[int] = set()
        self.threads: set[str] = set()

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.loops.add(id(asyncio.get_running_loop()))
        self.threads.add(threading.current_thread().name)
        await super().group_send(group, message)


@pytest.fixture
def layer(monkeypatch, settings) -> RecordingLayer:
    settings.CHAT_LAYER_TIMEOUT = 0.5
    fake = RecordingLayer()
    monkeypatch.setattr(relay_module, "get_channel_layer", lambda: fake)
    return fake


@pytest.fixture
def relay():
    instance = Relay()
    yield instance
    instance.stop()


def test_events_go_out_in_order_on_one_loop_for_the_whole_process(layer, relay):
    for n in range(20):
        relay.send("chat.room.1", {"n": n})

    assert [message["n"] for _group, message in layer.sent] == list(range(20))  # each sent before send returns
    assert len(layer.loops) == 1
    assert layer.threads == {"layer-relay"}


def test_the_in_memory_layer_reaches_nobody_and_is_skipped(monkeypatch, relay):
    from channels.layers import InMemoryChannelLayer

    monkeypatch.setattr(relay_module, "get_channel_layer", lambda: InMemoryChannelLayer())

    relay.send("chat.room.1", {"n": 1})

    assert relay._loop is None  # no thread was started


def test_during_an_outage_callers_stop_waiting_and_events_are_retried_in_order(layer, relay, caplog):
    layer.down = True
    with caplog.at_level(logging.WARNING, logger="realtime.kernel.relay"):
        relay.send("chat.room.1", {"n": 0}, retry=False)  # a typing indicator: dropped once it fails
        relay.send("chat.room.1", {"n": 1})  # waits no longer: the layer is known to be down
        relay.send("chat.room.1", {"n": 2})

    assert relay.healthy is False
    assert layer.sent == []
    assert "Channel layer unreachable" in caplog.text

    layer.down = False
    assert relay.flush(timeout=10)
    assert [message["n"] for _group, message in layer.sent] == [1, 2]
    assert relay.healthy is True


def test_the_backlog_is_bounded(layer, relay, caplog):
    relay.backlog = 3
    layer.down = True
    with caplog.at_level(logging.WARNING, logger="realtime.kernel.relay"):
        for n in range(10):
            relay.send("chat.room.1", {"n": n})

    layer.down = False
    assert relay.flush(timeout=10)
    assert len(layer.sent) <= 4  # the one in flight and the backlog's three
    assert [message["n"] for _group, message in layer.sent] == sorted(m["n"] for _g, m in layer.sent)
    assert "backlog full" in caplog.text


def test_a_flush_with_nothing_started_is_immediate(relay):
    assert relay.flush(timeout=0) is True
