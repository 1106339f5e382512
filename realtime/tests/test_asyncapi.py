"""The AsyncAPI document describes the frames the code really builds, parses and sends.

Every frame the socket tests receive is also checked against it, by ``Client.frame()`` in conftest.py.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.conf import settings
from django.urls import resolve

from compat import consumers as compat
from compat import routing as compat_routing
from compat.consumers import LegacyMessagesConsumer, LegacyNotificationsConsumer
from compat.tests.test_sockets import BAD_LEGACY_FRAMES
from core.errors import ApplicationError
from messaging import events, limits
from messaging.models import Message, Notification
from messaging.services import (
    direct_room_get_or_create,
    files_upload,
    message_delete,
    message_edit,
    message_send,
    notification_send,
    room_join,
)
from messaging.services.errors import ClientIdReused, InvalidRecipients
from messaging.services.notifications import notify_purge
from messaging.tests.factories import make_room, png, send
from realtime import asyncapi, protocol, routing
from realtime.asyncapi import (
    client_frame_schema,
    document,
    frame_schemas,
    frame_type,
    server_frame_schema,
    validate_client_frame,
    validate_server_frame,
)
from realtime.consumers import MessagesConsumer, NotificationsConsumer
from realtime.kernel import closecodes, encode
from realtime.protocol_errors import InvalidJson
from realtime.tests.sockets import Client
from realtime.tests.test_messages_socket import BAD_FRAMES
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES, NOTIFICATIONS = "/ws/messages/", "/ws/notifications/"
LEGACY_MESSAGES, LEGACY_NOTIFICATIONS = "/ws/messages", "/ws/notifications"  # back_chat's, deprecated
CONSUMERS = {
    MESSAGES: MessagesConsumer,
    NOTIFICATIONS: NotificationsConsumer,
    LEGACY_MESSAGES: LegacyMessagesConsumer,
    LEGACY_NOTIFICATIONS: LegacyNotificationsConsumer,
}
ROOT = Path(__file__).resolve().parents[2]


def is_valid(frame: object, *, channel: str, direction: str = "send") -> bool:
    validate = validate_client_frame if direction == "send" else validate_server_frame
    try:
        validate(frame, channel=channel)
    except jsonschema.ValidationError:
        return False
    return True


def schema_types(action: str, channel: str | None = None) -> set[str]:
    return {frame_type(schema) for schema in frame_schemas(action, channel)}


# --- the document ------------------------------------------------------------------------------------


def test_the_document_is_asyncapi_3_with_every_socket():
    doc = yaml.safe_load(Path(asyncapi.DOCUMENT).read_text(encoding="utf-8"))
    channels = doc["channels"]

    assert doc["asyncapi"] == "3.0.0"
    assert {channel["address"] for channel in channels.values()} == set(CONSUMERS)
    actions = {(op["channel"]["$ref"], op["action"]) for op in doc["operations"].values()}
    assert actions == {(f"#/channels/{name}", action) for name in channels for action in ("send", "receive")}
    for name in ("messages", "legacyMessages"):
        assert set(channels[name]["bindings"]["ws"]["query"]["properties"]) == {"token", "room", "last_seq"}
    for name in ("notifications", "legacyNotifications"):
        assert set(channels[name]["bindings"]["ws"]["query"]["properties"]) == {"token"}


def test_the_legacy_sockets_are_marked_deprecated_and_the_new_ones_are_not():
    doc = document()
    legacy = {
        name
        for name, channel in doc["channels"].items()
        if channel["address"] in (LEGACY_MESSAGES, LEGACY_NOTIFICATIONS)
    }

    assert legacy == {"legacyMessages", "legacyNotifications"}
    for name, channel in doc["channels"].items():
        assert channel.get("x-deprecated", False) is (name in legacy)
        assert ("legacy" in {tag["name"] for tag in channel["tags"]}) is (name in legacy)
    for operation in doc["operations"].values():
        assert operation.get("x-deprecated", False) is (operation["channel"]["$ref"].rsplit("/", 1)[-1] in legacy)
    legacy_schemas = {name for name in doc["components"]["schemas"] if name.startswith("Legacy")}
    assert legacy_schemas == {"LegacyClientMessageFrame", "LegacyClientNotificationFrame", "LegacyMessageFrame"}
    assert all(doc["components"]["schemas"][name]["deprecated"] is True for name in legacy_schemas)


def test_every_schema_is_valid_draft_7_and_every_ref_resolves():
    inlined = asyncapi._inline(document()["components"])  # raises on a dangling ref or a $ref with siblings

    for name, schema in inlined["schemas"].items():
        assert isinstance(schema, dict), name
        jsonschema.Draft7Validator.check_schema(schema)
    for schema in (server_frame_schema(), client_frame_schema()):
        jsonschema.Draft7Validator.check_schema(schema)


def test_every_documented_message_belongs_to_an_operation_of_its_channel():
    doc = document()
    used = set()
    for operation in doc["operations"].values():
        channel = operation["channel"]["$ref"].rsplit("/", 1)[-1]
        for ref in operation["messages"]:
            assert ref["$ref"].startswith(f"#/channels/{channel}/messages/")
            used.add(asyncapi._pointer(ref["$ref"])["$ref"])

    assert used == {f"#/components/messages/{name}" for name in doc["components"]["messages"]}


def test_each_direction_has_exactly_the_frame_types_of_the_code():
    assert schema_types("send", MESSAGES) == {"message", "typing"}
    assert schema_types("send", NOTIFICATIONS) == {"notification", "read"}
    assert schema_types("receive", MESSAGES) == {
        "message", "ack", "history", "resync", "typing", "message_updated", "message_deleted", "messages_purged",
        "error",
    }  # fmt: skip
    assert schema_types("receive", NOTIFICATIONS) == {
        "notification", "notifications_read", "unread", "presence", "ack", "error",
    }  # fmt: skip
    # back_chat's frames have no type (None): they are told apart by their mtype.
    assert schema_types("send", LEGACY_MESSAGES) == {None, "message", "typing"}
    assert schema_types("send", LEGACY_NOTIFICATIONS) == {None, "notification", "read"}
    # Its message shape instead of the message frame; no typing (compat/consumers.py).
    assert schema_types("receive", LEGACY_MESSAGES) == schema_types("receive", MESSAGES) - {"message", "typing"} | {
        None
    }
    assert schema_types("receive", LEGACY_NOTIFICATIONS) == schema_types("receive", NOTIFICATIONS)


def test_every_example_is_a_valid_frame_of_its_channel():
    doc = document()
    checked = 0
    for operation in doc["operations"].values():
        channel = doc["channels"][operation["channel"]["$ref"].rsplit("/", 1)[-1]]["address"]
        direction = operation["action"]
        for ref in operation["messages"]:
            message = asyncapi._pointer(asyncapi._pointer(ref["$ref"])["$ref"])
            assert message.get("examples"), f"{ref['$ref']} has no example"
            for example in message["examples"]:
                (validate_client_frame if direction == "send" else validate_server_frame)(
                    example["payload"], channel=channel
                )
                checked += 1

    assert checked >= 20


def test_the_documented_limits_are_the_codes():
    schemas = asyncapi._inline(document()["components"]["schemas"])
    message, note, read = schemas["ClientMessageFrame"], schemas["ClientNotificationFrame"], schemas["ClientReadFrame"]

    assert message["properties"]["content"]["maxLength"] == settings.CHAT_MAX_MESSAGE_LENGTH
    assert message["properties"]["client_id"]["oneOf"][0]["maxLength"] == limits.CLIENT_ID
    assert message["properties"]["attachments"]["maxItems"] == limits.ATTACHMENTS_PER_MESSAGE
    assert read["properties"]["ids"]["maxItems"] == limits.IDS_PER_REQUEST
    assert note["properties"]["to"]["oneOf"][1]["maxItems"] == limits.NOTIFICATION_RECIPIENTS
    assert {kind.value for kind in Notification.Kind} == set(schemas["NotificationKind"]["enum"])


def test_every_close_code_of_the_code_is_documented():
    description = document()["info"]["description"]
    codes = {value for name, value in vars(closecodes).items() if name.isupper()} | {1009, 1012}
    assert {4401, 4403, 4404, 4429, 1013} <= codes

    for code in codes:
        assert f"| {code} |" in description


def test_each_documented_address_is_routed_to_its_own_consumer_and_every_route_is_documented():
    routed = [*routing.websocket_urlpatterns, *compat_routing.websocket_urlpatterns]

    for channel in document()["channels"].values():
        pattern = next(p for p in routed if p.pattern.match(channel["address"].lstrip("/")))
        assert pattern.callback.consumer_class is CONSUMERS[channel["address"]]
    assert len(routed) == len(document()["channels"])


def test_a_path_names_its_own_channel():
    assert asyncapi.channel_name("/ws/messages/") == "messages"
    assert asyncapi.channel_name("/ws/messages") == "legacyMessages"
    assert asyncapi.channel_name("/ws/notifications") == "legacyNotifications"
    with pytest.raises(ValueError, match="No channel"):
        asyncapi.channel_name("/ws/other/")


# Refusals that only REST can produce (uploads, room and user management): not socket error codes.
REST_ONLY_CODES = {
    "too_large",
    "unsupported_media_type",
    "no_file",
    "empty_file",
    "invalid_name",
    "too_many_files",
    "slug_taken",
    "invalid_room",
    "last_owner",
    "not_authenticated",
    "invalid_credentials",
    "token_not_valid",
    "user_inactive",
    "invalid",
    "conflict",
}


def _error_classes(root: type) -> set[type]:
    found = set()
    for sub in root.__subclasses__():
        found |= {sub, *_error_classes(sub)}
    return {cls for cls in found if ".tests." not in cls.__module__}


def _import_every_project_module() -> None:
    """Error classes live where they are raised: import every module so that each one is defined."""
    for package in ("core", "users", "messaging", "realtime", "compat"):
        root = importlib.import_module(package)
        for module in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".tests" not in module.name and ".migrations" not in module.name:
                importlib.import_module(module.name)


def test_every_error_code_the_sockets_can_send_is_documented():
    _import_every_project_module()
    codes = {cls.code for cls in _error_classes(ApplicationError)}
    known = set(asyncapi._inline(document()["components"]["schemas"]["ErrorCode"])["anyOf"][0]["enum"])

    assert {"invalid_json", "binary_frame", "client_id_conflict", "invalid_recipients", "server_error"} <= codes
    assert codes - REST_ONLY_CODES <= known, "document the new socket error code, or list it as REST-only"
    assert not (REST_ONLY_CODES & known), "a documented socket code is listed as REST-only"


# --- the frames the code builds --------------------------------------------------------------------------

PAYLOAD_HELPERS = {"timestamp", "user_summary", "attachment_payload", "message_payload", "notification_payload"}
PROTOCOL_PARSERS = {"decode", "parse_messages_frame", "parse_notifications_frame", "query_params"}


def public_functions(module) -> set[str]:
    return {
        name
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__ and not name.startswith("_")
    }


@pytest.fixture
def rich_data(general_room, user, other_user, staff_user):
    """Messages and notifications of every shape: with files, a reply, edited, deleted, sender deleted."""
    room_join(actor=user, room=general_room)
    room_join(actor=other_user, room=general_room)
    upload = files_upload(uploader=user, uploads=[png()])
    first = send(user, "hello @bob", client_id="c-1")
    with_file = message_send(
        sender=user, content="", room=general_room, attachment_ids=[upload[0].pk], reply_to_id=first.pk
    ).message
    message_edit(actor=user, message_id=send(user, "tpyo").pk, content="typo")
    deleted = message_delete(actor=user, message_id=send(user, "oops").pk)
    ghost = make_user("ghost")
    orphan = send(ghost, "from a deleted account")
    ghost.delete()
    direct, _ = direct_room_get_or_create(actor=user, other=other_user)
    send(user, "psst", room=direct)
    dm_file = files_upload(uploader=user, uploads=[png("dm.png")])
    message_send(sender=user, content="look", room=direct, attachment_ids=[dm_file[0].pk])
    notification_send(sender=user, to=[other_user.pk], title="Lunch?", body="12:30")
    notify_purge(actor=staff_user, rooms=[general_room])
    notify_purge(actor=None, rooms=None)
    messages = list(Message.objects.select_related("room", "sender").order_by("id"))
    orphan.refresh_from_db()
    assert orphan.sender is None
    return {
        "room": general_room,
        "user": user,
        "messages": messages,
        "with_file": with_file,
        "deleted": deleted,
        "notifications": list(Notification.objects.order_by("id")),
    }


# Every frame builder of messaging.events and realtime.protocol, called on every sample it applies to.
EVENT_BUILDERS = {
    "message_created": lambda d: [events.message_created(m, room_slug=m.room.slug) for m in d["messages"]],
    "message_updated": lambda d: [events.message_updated(m) for m in d["messages"]],
    "message_deleted": lambda d: [events.message_deleted(d["deleted"])],
    "messages_purged": lambda d: [events.messages_purged(d["room"]), events.messages_purged(None)],
    "notification_created": lambda d: [events.notification_created(n) for n in d["notifications"]],
    "notifications_read": lambda d: [events.notifications_read([1, 2]), events.notifications_read(None)],
    "unread": lambda d: [events.unread(room_slug="general", count=0), events.unread(room_slug="dm-1-2", count=7)],
}


class _CodeAddedLater(ApplicationError):
    code = "a_code_added_later"


PROTOCOL_BUILDERS = {
    "error": lambda d: [
        protocol.error(InvalidJson()),
        protocol.error(ClientIdReused("Used."), client_id="k"),
        protocol.error(InvalidRecipients(extra={"ids": [424242]})),
        protocol.error(_CodeAddedLater("Clients treat it as a generic failure.")),
    ],
    "ack": lambda d: [
        protocol.ack(client_id="c-1", message_id=1, seq=1),
        protocol.ack(client_id=None, message_id=2, seq=2),
    ],
    "history": lambda d: [
        protocol.history([events.message_payload(m) for m in d["messages"] if m.room_id == d["room"].pk]),
        protocol.history([]),
        protocol.history([], complete=False),
    ],
    "history_frames": lambda d: [
        json.loads(text)
        for text in protocol.history_frames(
            [events.message_payload(m) for m in d["messages"] if m.room_id == d["room"].pk], max_bytes=16 * 1024
        )
    ],
    "resync": lambda d: [protocol.resync(last_seq=0, latest_seq=501)],
    "typing": lambda d: [protocol.typing(user_id=d["user"].pk, username=d["user"].username)],
    "presence": lambda d: [
        protocol.presence(user_id=d["user"].pk, username=d["user"].username, display_name="A", online=True),
        protocol.presence(user_id=d["user"].pk, username="", display_name="", online=False),
    ],
}


def built_frames(data, builders=None) -> dict[str, list[dict]]:
    builders = builders or {**EVENT_BUILDERS, **PROTOCOL_BUILDERS}
    return {name: build(data) for name, build in builders.items()}


def test_every_frame_builder_has_samples_here():
    assert public_functions(events) - PAYLOAD_HELPERS == set(EVENT_BUILDERS)
    assert public_functions(protocol) - PROTOCOL_PARSERS == set(PROTOCOL_BUILDERS)


def test_every_built_frame_matches_the_document(rich_data):
    frames = [frame for samples in built_frames(rich_data).values() for frame in samples]
    # The notifications socket's own acks are built inline by the consumer.
    frames += [{"type": "ack", "sent": 3}, {"type": "ack", "updated": 0}]

    for frame in frames:
        json.dumps(frame)  # what leaves the server is JSON as it is
        validate_server_frame(frame)
    assert {frame["type"] for frame in frames} == schema_types("receive", MESSAGES) | schema_types(
        "receive", NOTIFICATIONS
    )


def test_what_the_legacy_message_socket_sends_for_each_built_frame_matches_its_channel(rich_data):
    """compat/consumers.py turns each hub frame into what a back_chat client receives."""
    frames = [frame for samples in built_frames(rich_data).values() for frame in samples]
    sent = []
    for frame in frames:
        for recipient in (rich_data["user"].pk, 424242):
            text = compat.legacy_text(encode(frame), recipient_id=recipient)
            if text is not None:
                sent.append(json.loads(text))

    for frame in sent:
        if frame.get("type") not in {"presence", "unread", "notification", "notifications_read"}:
            validate_server_frame(frame, channel=LEGACY_MESSAGES)
    legacy = [frame for frame in sent if "mtype" in frame]
    assert {frame["isMine"] for frame in legacy} == {True, False}
    assert any(frame["attachments"] for frame in legacy)
    assert any(frame["user_id"] is None for frame in legacy)


def test_the_samples_cover_every_message_and_notification_shape(rich_data):
    built = built_frames(rich_data, EVENT_BUILDERS)
    payloads = [frame["message"] for frame in built["message_created"]]
    kinds = {frame["notification"]["kind"] for frame in built["notification_created"]}

    assert any(p["attachments"] and p["reply_to"] and p["content"] == "" for p in payloads)
    assert any(p["edited_at"] for p in payloads)
    assert any(p["deleted"] for p in payloads)
    assert any(p["sender"] is None for p in payloads)
    assert kinds == {kind.value for kind in Notification.Kind}


def test_the_schemas_refuse_what_the_server_never_sends(rich_data):
    message = events.message_created(rich_data["with_file"], room_slug="general")
    deleted_with_content = events.message_updated(rich_data["deleted"])
    deleted_with_content["message"]["content"] = "leaked"
    mention = next(n for n in rich_data["notifications"] if n.kind == "mention")
    bad_data = events.notification_created(mention)
    bad_data["notification"]["data"] = {"from": {"id": 1, "username": "x"}}

    refused = [
        {**message, "is_mine": True},  # broadcast frames carry no per-recipient field
        {"type": "message", "message": {**message["message"], "created_at": "2025-01-31 09:15:02"}},
        deleted_with_content,
        bad_data,
        {"type": "ack", "client_id": "c", "id": 1},
        {"type": "ack", "sent": 1, "updated": 1},
        {"type": "error", "code": "Not A Code", "detail": "x"},
        {"type": "error", "code": "empty", "detail": ""},
        {"type": "presence", "user": {"id": 1, "username": "a"}, "status": "away"},
        {"type": "unread", "room": "../general", "count": 1},
        {"type": "dance"},
        {"content": "no type"},
    ]
    for frame in refused:
        assert not is_valid(frame, channel=None, direction="receive"), frame


def test_a_frame_of_the_other_socket_is_refused():
    presence = protocol.presence(user_id=1, username="alice", display_name="Alice", online=True)
    typing = protocol.typing(user_id=1, username="alice")
    example = document()["components"]["messages"]["Message"]["examples"][0]["payload"]
    legacy = json.loads(compat.legacy_text(json.dumps(example), recipient_id=1))

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

VALID_CLIENT_FRAMES = {
    MESSAGES: [
        {"type": "message", "content": "hi"},
        {"type": "message", "content": "hi", "client_id": "x" * 64, "attachments": [1, 2], "reply_to": 3},
        {"type": "message", "content": "", "attachments": [1]},
        {"type": "message", "content": "hi", "client_id": None, "reply_to": None},
        {"type": "typing"},
    ],
    NOTIFICATIONS: [
        {"type": "notification", "to": [2], "title": "Lunch?"},
        {"type": "notification", "to": "all", "title": "Maintenance", "body": "at 18:00"},
        {"type": "read", "ids": [1, 2, 3]},
        {"type": "read", "all": True},
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
PARSERS = {
    MESSAGES: protocol.parse_messages_frame,
    NOTIFICATIONS: protocol.parse_notifications_frame,
    LEGACY_MESSAGES: lambda frame: protocol.parse_messages_frame(compat.message_frame(frame)),
    LEGACY_NOTIFICATIONS: lambda frame: protocol.parse_notifications_frame(compat.notification_frame(frame)),
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
