"""Close codes under daphne (the registered ones sent as close frames by the connection, the others through
ASGI; a handshake instead of a reset), and slow readers closed with 1013 on every path."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any, cast

import pytest
from daphne.ws_protocol import WebSocketProtocol

from compat.consumers import LegacyMessagesConsumer
from realtime import wire
from realtime.consumers import MessagesConsumer
from realtime.kernel import closecodes
from realtime.tests.test_wire import FakeProtocol, FakeTransport

pytestmark = pytest.mark.django_db(transaction=True)


# --- close codes ---------------------------------------------------------------------------------------------


class ClosingProtocol(FakeProtocol):
    """daphne's connection, recording the close frames sent on it."""

    def __init__(self, transport: FakeTransport) -> None:
        super().__init__(transport)
        self.closeHandshakeTimeout = 1
        self.close_frames: list[int] = []

    def sendCloseFrame(self, code=None, reasonUtf8=None, isReply=False) -> None:
        self.close_frames.append(code)
        self.state = WebSocketProtocol.STATE_CLOSING


def consumer_on(
    protocol: ClosingProtocol, consumer_class: type[MessagesConsumer] = MessagesConsumer
) -> tuple[MessagesConsumer, list[dict]]:
    """A consumer whose ASGI send is daphne's (a partial of the server's reply handler and the protocol)."""
    consumer = consumer_class()
    sent: list[dict] = []

    async def handle_reply(protocol: ClosingProtocol, message: dict) -> None:
        sent.append(message)

    consumer.base_send = partial(handle_reply, protocol)
    consumer.wire = protocol
    consumer.fast_wire = protocol  # what connect finds under daphne with the fast path on
    consumer.user_id = 1
    consumer.buffer = None
    return consumer, sent


def test_every_close_code_we_send_may_be_sent_by_an_endpoint():
    codes = {value for name, value in vars(closecodes).items() if name.isupper()}

    assert all(wire.is_legal_close_code(code) for code in codes)
    assert not any(wire.is_legal_close_code(code) for code in (999, 1004, 1005, 1006, 1015, 2000, 5000))
    assert set(WebSocketProtocol.CLOSE_STATUS_CODES_ALLOWED) == wire.REGISTERED_CLOSE_CODES


@pytest.mark.parametrize("code", [closecodes.SERVER_ERROR, closecodes.TOO_SLOW])
def test_daphnes_asgi_close_refuses_the_registered_codes(code):
    """Why the consumer sends them itself: daphne hands a websocket.close code to autobahn's sendClose."""
    with pytest.raises(Exception, match="invalid close code"):
        WebSocketProtocol.sendClose(object.__new__(WebSocketProtocol), code=code)


@pytest.mark.parametrize("code", [closecodes.SERVER_ERROR, closecodes.TOO_SLOW])
async def test_a_registered_code_is_sent_as_a_close_frame_under_daphne(code):
    protocol = ClosingProtocol(FakeTransport())
    consumer, sent = consumer_on(protocol)

    await consumer.close(code=code)

    assert protocol.close_frames == [code]
    assert sent == []


async def test_an_application_code_goes_through_asgi():
    protocol = ClosingProtocol(FakeTransport())
    consumer, sent = consumer_on(protocol)

    await consumer.close(code=closecodes.ROOM_UNREADABLE)

    assert sent == [{"type": "websocket.close", "code": 4404}]
    assert protocol.close_frames == []


async def test_a_slow_readers_close_gives_it_time_to_read_up_to_the_close_frame():
    protocol = ClosingProtocol(FakeTransport())
    consumer, _ = consumer_on(protocol)

    await consumer.close(code=closecodes.TOO_SLOW)

    assert protocol.closeHandshakeTimeout > 1


async def test_oversized_frames_are_answered_with_a_close_not_a_reset(general_room):
    protocol = ClosingProtocol(FakeTransport())
    protocol.failByDrop = True  # autobahn's default, which daphne keeps
    consumer, sent = consumer_on(protocol)
    consumer.scope = cast(Any, {"type": "websocket", "user": None})

    await consumer.connect()

    assert protocol.failByDrop is False
    assert sent[-1] == {"type": "websocket.close", "code": closecodes.TOKEN_INVALID}


# --- slow readers on the ASGI path -------------------------------------------------------------------------


@pytest.mark.parametrize("consumer_class", [LegacyMessagesConsumer, MessagesConsumer])
async def test_a_reader_behind_on_the_asgi_path_is_closed_with_1013(settings, consumer_class):
    settings.CHAT_SLOW_READER_LIMIT = 100
    protocol = ClosingProtocol(FakeTransport(buffered=200))
    consumer, sent = consumer_on(protocol, consumer_class)
    frame = '{"type":"message_deleted","id":1,"seq":1,"room":"general"}'

    consumer.deliver(frame)
    await asyncio.sleep(0)  # the socket's queue sends it, and the close is scheduled
    await asyncio.sleep(0)  # the close
    consumer.deliver(frame)
    await asyncio.sleep(0)

    assert sent == [{"type": "websocket.send", "text": frame}]  # nothing more once it is closing
    assert protocol.close_frames == [closecodes.TOO_SLOW]


async def test_frames_held_back_during_a_replay_count_against_the_limit(settings):
    settings.CHAT_SLOW_READER_LIMIT = 100
    protocol = ClosingProtocol(FakeTransport())
    consumer, _ = consumer_on(protocol)
    consumer.buffer, consumer.buffer_bytes = [], 0

    for _ in range(3):
        consumer.deliver('{"type":"typing","user":{"id":2,"username":"a-longer-name"}}')
    await asyncio.sleep(0)

    assert protocol.close_frames == [closecodes.TOO_SLOW]


async def test_a_replay_the_client_does_not_read_is_given_up_with_1013(monkeypatch):
    from realtime import consumers

    monkeypatch.setattr(consumers, "REPLAY_DRAIN_SECONDS", 0.05)
    protocol = ClosingProtocol(FakeTransport(buffered=10))  # what is written stays in the process
    consumer, sent = consumer_on(protocol)

    assert await consumer._send_replay(["first", "second"]) is False
    await asyncio.sleep(0)

    assert [message["text"] for message in sent] == ["first"]
    assert protocol.close_frames == [closecodes.TOO_SLOW]
