"""A socket's ASGI send queue on its own: order, bound, and a slow socket holding up nobody else."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from realtime.hub.delivery import COUNTERS, deliver_all
from realtime.sendqueue import SendQueue
from realtime.tests.fakes import FakeSocket, eventually, settle


class Connection:
    """An ASGI send that records messages, and can be made to hang (a client that stopped reading)."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.open = asyncio.Event()
        self.open.set()

    async def send(self, message: dict[str, Any]) -> None:
        await self.open.wait()
        self.sent.append(message.get("text", message["type"]))


class QueuedSocket(FakeSocket):
    """A socket on the ASGI path, as the consumers are: ``deliver`` queues, a full queue is too slow."""

    def __init__(self, limit: int = 1000) -> None:
        super().__init__()
        self.connection = Connection()
        self.queue = SendQueue(self.connection.send, limit=limit)

    def deliver(self, frame: str) -> None:
        if not self.queue.offer(frame):
            self.too_slow()


async def test_frames_leave_in_the_order_they_were_queued():
    connection = Connection()
    queue = SendQueue(connection.send, limit=1000)

    queue.offer("b1")
    queue.offer("b2")
    await queue.send({"type": "websocket.send", "text": "own"})  # waits for the broadcasts before it
    queue.offer("b3")
    await settle()

    assert connection.sent == ["b1", "b2", "own", "b3"]
    assert queue.queued_bytes == 0


async def test_an_own_frame_on_an_idle_queue_is_sent_at_once():
    connection = Connection()
    queue = SendQueue(connection.send, limit=1000)

    await queue.send({"type": "websocket.send", "text": "ack"})

    assert connection.sent == ["ack"]


async def test_a_broadcast_past_the_limit_is_refused():
    connection = Connection()
    connection.open.clear()
    queue = SendQueue(connection.send, limit=10)

    assert queue.offer("12345")
    assert queue.offer("12345")
    assert not queue.offer("1")
    assert queue.queued_bytes == 10


async def test_a_socket_that_stopped_reading_holds_up_nobody_else(settings):
    """The hub hands every socket the frame without awaiting any of them."""
    settings.CHAT_SLOW_READER_LIMIT = 1000
    stuck, fine = QueuedSocket(limit=10), QueuedSocket()
    stuck.connection.open.clear()

    for index in range(5):
        deliver_all([stuck, fine], f"frame{index}")
    await eventually(lambda: len(fine.connection.sent) == 5)

    assert fine.connection.sent == [f"frame{index}" for index in range(5)]
    assert stuck.connection.sent == []
    assert stuck.slow > 0  # its queue filled up: it is closed (1013), not waited for


async def test_a_too_slow_reader_keeps_only_what_is_being_sent_and_its_own_frames():
    connection = Connection()
    connection.open.clear()
    queue = SendQueue(connection.send, limit=1000)
    queue.offer("in flight")
    await settle()
    queue.offer("dropped")
    closing = asyncio.ensure_future(queue.send({"type": "websocket.close"}))
    await settle()

    queue.discard_broadcasts()
    connection.open.set()
    await closing

    assert connection.sent == ["in flight", "websocket.close"]


async def test_an_own_frame_whose_send_fails_raises_to_its_sender():
    connection = Connection()
    queue = SendQueue(connection.send, limit=1000)
    connection.open.clear()
    queue.offer("first")

    async def broken(message: dict[str, Any]) -> None:
        raise ConnectionResetError("gone")

    queue._send = broken
    connection.open.set()
    with pytest.raises(ConnectionResetError):
        await queue.send({"type": "websocket.send", "text": "ack"})


async def test_closing_the_queue_releases_whoever_waits():
    connection = Connection()
    connection.open.clear()
    queue = SendQueue(connection.send, limit=1000)
    queue.offer("stuck")
    await settle()
    waiting = asyncio.ensure_future(queue.send({"type": "websocket.send", "text": "ack"}))
    await settle()

    queue.close()

    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert queue.offer("after") is True  # accepted and dropped: the socket is going
    assert queue.queued_bytes == 0


async def test_deliveries_are_counted_by_path(settings):
    before = (COUNTERS.fast_path, COUNTERS.fallback)
    queued = QueuedSocket()

    deliver_all([queued, QueuedSocket()], "frame")

    assert (COUNTERS.fast_path, COUNTERS.fallback) == (before[0], before[1] + 2)
