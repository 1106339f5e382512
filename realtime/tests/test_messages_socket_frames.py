"""What /ws/messages/ does with frames it cannot act on (bad JSON, binary, too long, too many, bad text): an
error frame, nothing stored, and the socket stays usable; and what it sends is JSON objects."""

import json

import pytest

from realtime.tests.sockets import open_socket
from realtime.tests.test_messages_socket import count_messages

pytestmark = pytest.mark.django_db(transaction=True)


BAD_FRAMES = [
    ("not json", "invalid_json"),
    ("[1, 2]", "invalid_frame"),
    ('"message"', "invalid_frame"),
    ("{}", "unknown_type"),
    ('{"type": "dance"}', "unknown_type"),
    ('{"type": 5}', "unknown_type"),
    ('{"type": "message"}', "invalid_field"),
    ('{"type": "message", "content": 42}', "invalid_field"),
    ('{"type": "message", "content": null}', "invalid_field"),
    ('{"type": "message", "content": "hi", "client_id": 7}', "invalid_field"),
    ('{"type": "message", "content": "hi", "client_id": "' + "x" * 65 + '"}', "invalid_field"),
    ('{"type": "message", "content": "hi", "attachments": "1"}', "invalid_field"),
    ('{"type": "message", "content": "hi", "attachments": [true]}', "invalid_field"),
    ('{"type": "message", "content": "hi", "attachments": [99999]}', "invalid_attachment"),
    ('{"type": "message", "content": "hi", "attachments": [18446744073709551616]}', "invalid_attachment"),
    ('{"type": "message", "content": "hi", "reply_to": 18446744073709551616}', "invalid_field"),
    ('{"type": "message", "content": "hi", "reply_to": "x"}', "invalid_field"),
    ('{"type": "message", "content": ""}', "empty"),
    ('{"type": "message", "content": "' + "x" * 4001 + '"}', "too_long"),
    ('{"type": "message", "content": "a\\u0000b"}', "invalid_field"),
    ("[" * 100000 + "]" * 100000, "too_long"),
    ('{"type": "react"}', "invalid_field"),
    ('{"type": "react", "message_id": "1", "emoji": ":a:", "added": true}', "invalid_field"),
    ('{"type": "react", "message_id": 0, "emoji": ":a:", "added": true}', "invalid_field"),
    ('{"type": "react", "message_id": 1, "emoji": ":a:", "added": "yes"}', "invalid_field"),
    ('{"type": "react", "message_id": 1, "emoji": ":a:"}', "invalid_field"),
    ('{"type": "react", "message_id": 1, "emoji": 5, "added": true}', "invalid_field"),
    ('{"type": "react", "message_id": 1, "emoji": "' + "x" * 65 + '", "added": true}', "too_long"),
]


@pytest.mark.parametrize(("text", "code"), BAD_FRAMES)
async def test_bad_frames_get_an_error_frame_store_nothing_and_the_socket_stays_usable(general_room, user, text, code):
    alice = await open_socket(user=user)

    await alice.send_to(text_data=text)
    error = await alice.frame()
    await alice.send(type="message", content="after the error")
    ack = (await alice.frames_until("ack"))[-1]

    assert error["type"] == "error"
    assert error["code"] == code
    assert error["detail"]
    assert ack["seq"] == 1  # nothing was stored by the bad frame
    assert await count_messages() == 1
    await alice.disconnect()


async def test_binary_frames_get_an_error_frame(general_room, user):
    alice = await open_socket(user=user)

    await alice.send_to(bytes_data=b"\x00\x01")

    assert (await alice.frame())["code"] == "binary_frame"
    await alice.disconnect()


async def test_frames_over_the_size_limit_get_too_long(general_room, user, settings):
    settings.CHAT_MAX_FRAME_BYTES = 100

    alice = await open_socket(user=user)
    await alice.send(type="message", content="é" * 60)  # 120 bytes of UTF-8 in 60 characters

    assert (await alice.frame())["code"] == "too_long"
    await alice.disconnect()


async def test_a_fast_client_is_rate_limited_then_closed_with_4429(general_room, user, settings):
    settings.CHAT_SOCKET_BURST = 3
    settings.CHAT_SOCKET_RATE = 0.1
    settings.CHAT_SOCKET_FLOOD_LIMIT = 5
    alice = await open_socket(user=user)

    for _ in range(3):
        await alice.send(type="typing")
    await alice.send(type="typing")
    limited = [frame for frame in [await alice.frame() for _ in range(2)] if frame["type"] == "error"]
    for _ in range(6):
        await alice.send(type="typing")

    assert limited[0]["code"] == "rate_limited"
    assert await alice.closed_with() == 4429


async def test_frames_are_serialized_json_objects(general_room, user):
    alice = await open_socket(user=user)

    await alice.send(type="message", content="x")
    raw = await alice.receive_from()

    assert isinstance(json.loads(raw), dict)
    await alice.disconnect()


async def test_lone_surrogates_in_a_frame_are_an_invalid_field(general_room, user):
    alice = await open_socket(user=user)

    await alice.send_to(text_data='{"type": "message", "content": "a\\ud800b"}')

    assert (await alice.frame())["code"] == "invalid_field"
    assert await count_messages() == 0
    await alice.disconnect()
