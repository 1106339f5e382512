"""The frames clients send match the AsyncAPI document and the parsers, the frames the sockets refuse (or
the other socket's) do not validate, every frame the socket tests receive is checked, and the document
is served."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml
from django.urls import resolve

from compat import consumers as compat
from compat.tests.test_sockets import BAD_LEGACY_FRAMES
from messaging import events
from messaging.services import (
    direct_room_get_or_create,
)
from messaging.tests.factories import make_room
from realtime import protocol
from realtime.asyncapi import (
    document,
    validate_client_frame,
    validate_server_frame,
)
from realtime.tests.sockets import Client
from realtime.tests.test_asyncapi import (
    LEGACY_MESSAGES,
    LEGACY_NOTIFICATIONS,
    MESSAGES,
    NOTIFICATIONS,
    is_valid,
    schema_types,
)
from realtime.tests.test_messages_socket_frames import BAD_FRAMES

pytestmark = pytest.mark.django_db(transaction=True)


# --- frames of the other socket --------------------------------------------------------------------------


def test_a_frame_of_the_other_socket_is_refused():
    presence = protocol.presence(user_id=1, username="alice", display_name="Alice", online=True)
    typing = protocol.typing(user_id=1, username="alice")
    example = document()["components"]["messages"]["Message"]["examples"][0]["payload"]
    legacy_text = compat.legacy_text(json.dumps(example), recipient_id=1)
    assert legacy_text is not None
    legacy = json.loads(legacy_text)

    assert is_valid(example, channel=MESSAGES, direction="receive")
    assert not is_valid(example, channel=LEGACY_MESSAGES, direction="receive")
    assert is_valid(legacy, channel=LEGACY_MESSAGES, direction="receive")
    assert not is_valid(legacy, channel=MESSAGES, direction="receive")
    assert not is_valid(legacy, channel=NOTIFICATIONS, direction="receive")
    assert not is_valid(typing, channel=LEGACY_MESSAGES, direction="receive")
    assert is_valid(presence, channel=LEGACY_NOTIFICATIONS, direction="receive")

    assert is_valid(presence, channel=NOTIFICATIONS, direction="receive")
    assert not is_valid(presence, channel=MESSAGES, direction="receive")
    assert is_valid(typing, channel=MESSAGES, direction="receive")
    assert not is_valid(typing, channel=NOTIFICATIONS, direction="receive")
    with pytest.raises(jsonschema.ValidationError, match="not a frame type on /ws/messages/"):
        validate_server_frame(presence, channel=MESSAGES)


async def test_the_socket_tests_check_every_frame_they_receive():
    async def drifted_server(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": '{"type": "unread", "room": "general", "count": -1}'})
        await receive()

    client = Client(drifted_server, NOTIFICATIONS)
    await client.connect()

    with pytest.raises(jsonschema.ValidationError, match="less than the minimum"):
        await client.frame()
    await client.disconnect()


# --- the frames clients send -----------------------------------------------------------------------------

VALID_CLIENT_FRAMES: dict[str, list[dict[str, Any]]] = {
    MESSAGES: [
        {"type": "message", "content": "hi"},
        {"type": "message", "content": "hi", "client_id": "x" * 64, "attachments": [1, 2], "reply_to": 3},
        {"type": "message", "content": "", "attachments": [1]},
        {"type": "message", "content": "hi", "client_id": None, "reply_to": None},
        {"type": "typing"},
        {"type": "react", "message_id": 1, "emoji": "\N{THUMBS UP SIGN}", "added": True},
        {"type": "react", "message_id": 1, "emoji": ":shipit:", "added": False},
        {"type": "auth", "token": "header.payload.signature"},
    ],
    NOTIFICATIONS: [
        {"type": "notification", "to": [2], "title": "Lunch?"},
        {"type": "notification", "to": "all", "title": "Maintenance", "body": "at 18:00"},
        {"type": "read", "ids": [1, 2, 3]},
        {"type": "read", "all": True},
        {"type": "auth", "token": "header.payload.signature"},
    ],
}
VALID_CLIENT_FRAMES[LEGACY_MESSAGES] = [
    {"user_id": "null", "content": "hi", "timestamp": "2024-05-01T10:00:00.000Z", "mtype": "message"},
    {"content": "just content"},
    {"content": "", "mtype": "message", "attachments": [1], "client_id": "c", "reply_to": 2},
    *VALID_CLIENT_FRAMES[MESSAGES],
]
VALID_CLIENT_FRAMES[LEGACY_NOTIFICATIONS] = [
    {"user_id": "null", "content": "Maintenance\nAt 18:00.", "timestamp": "now", "mtype": "message"},
    {"content": "Lunch?", "to": [2]},
    {"content": "x" * 250},
    *VALID_CLIENT_FRAMES[NOTIFICATIONS],
]


def _or_auth(parse: Any) -> Any:
    """Either socket takes ``auth`` before its own frames (``ChatSocket.receive``)."""
    return lambda frame: protocol.parse_auth_frame(frame) if frame.get("type") == "auth" else parse(frame)


PARSERS = {
    MESSAGES: _or_auth(protocol.parse_messages_frame),
    NOTIFICATIONS: _or_auth(protocol.parse_notifications_frame),
    LEGACY_MESSAGES: _or_auth(lambda frame: protocol.parse_messages_frame(compat.message_frame(frame))),
    LEGACY_NOTIFICATIONS: _or_auth(lambda frame: protocol.parse_notifications_frame(compat.notification_frame(frame))),
}

BAD_NOTIFICATION_FRAMES = [
    ({"type": "notification", "to": [], "title": "x"}, "invalid_field"),
    ({"type": "notification", "to": "someone", "title": "x"}, "invalid_field"),
    ({"type": "notification", "to": [True], "title": "x"}, "invalid_field"),
    ({"type": "notification", "to": [1], "title": 5}, "invalid_field"),
    ({"type": "notification", "to": [1]}, "invalid_field"),
    ({"type": "notification", "to": [1], "title": "   "}, "invalid_field"),
    ({"type": "notification", "to": [1], "title": "x" * 201}, "too_long"),
    ({"type": "notification", "to": [1], "title": "x", "body": "x" * 2001}, "too_long"),
    ({"type": "notification", "to": [424242], "title": "x"}, "invalid_recipients"),
    ({"type": "read"}, "invalid_field"),
    ({"type": "read", "ids": "1"}, "invalid_field"),
    ({"type": "read", "ids": []}, "invalid_field"),
    ({"type": "read", "all": False}, "invalid_field"),
    ({"type": "message", "content": "wrong socket"}, "unknown_type"),
]


@pytest.mark.parametrize(("channel", "frame"), [(c, f) for c, frames in VALID_CLIENT_FRAMES.items() for f in frames])
def test_valid_client_frames_match_the_document_and_the_parser(channel, frame):
    validate_client_frame(frame, channel=channel)
    PARSERS[channel](frame)  # no ProtocolError


def test_the_valid_client_frames_cover_every_client_frame_type():
    for channel, frames in VALID_CLIENT_FRAMES.items():
        assert {frame.get("type") for frame in frames} == schema_types("send", channel)


def test_the_frames_the_messages_socket_refuses_do_not_validate():
    still_valid = []
    for text, _code in BAD_FRAMES:
        try:
            frame = json.loads(text)
        except (ValueError, RecursionError):
            continue  # not JSON: no schema applies
        if is_valid(frame, channel=MESSAGES):
            still_valid.append(text)

    # Only the server can tell whether a file id is one of the sender's own unattached uploads.
    assert still_valid == ['{"type": "message", "content": "hi", "attachments": [99999]}']


def test_the_frames_the_legacy_sockets_refuse_do_not_validate():
    refused = []
    for text, _code in BAD_LEGACY_FRAMES:
        try:
            refused.append(json.loads(text))
        except ValueError:
            continue  # not JSON: no schema applies
    # Refused by the parser, or (the blank title) by notification_send.
    refused_notifications = [
        {"content": "   \nbody"},
        {"content": ["x"]},
        {"content": "x", "mtype": "connect"},
        {"content": "x" * 2001},
        {"content": "x", "to": []},
    ]

    assert [frame for frame in refused if is_valid(frame, channel=LEGACY_MESSAGES)] == []
    assert [frame for frame in refused_notifications if is_valid(frame, channel=LEGACY_NOTIFICATIONS)] == []


def test_the_frames_the_notifications_socket_refuses_do_not_validate():
    still_valid = [frame for frame, _code in BAD_NOTIFICATION_FRAMES if is_valid(frame, channel=NOTIFICATIONS)]

    # Only the server knows who shares a room with the sender.
    assert still_valid == [{"type": "notification", "to": [424242], "title": "x"}]


# --- serving it ------------------------------------------------------------------------------------------


def test_the_document_is_served_without_authentication(client):
    response = client.get("/api/asyncapi.yaml")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml"
    assert "public" in response["Cache-Control"]
    assert yaml.safe_load(response.content) == document()
    assert resolve("/api/asyncapi.yaml").url_name == "asyncapi"


def test_only_reads_are_allowed(client):
    assert client.head("/api/asyncapi.yaml").status_code == 200
    assert client.post("/api/asyncapi.yaml").status_code == 405


def test_the_swagger_ui_links_the_document(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    assert "](/api/asyncapi.yaml)" in schema["info"]["description"]


def test_a_room_other_than_general_and_a_direct_room_have_valid_slugs(user, other_user):
    room = make_room(slug="team_2-b")
    direct, _ = direct_room_get_or_create(actor=user, other=other_user)

    for slug in (room.slug, direct.slug):
        validate_server_frame(events.unread(room_slug=slug, count=1), channel=NOTIFICATIONS)
