"""The AsyncAPI document describes the frames the code really builds, parses and sends.

Every frame the socket tests receive is also checked against it, by ``Client.frame()`` in conftest.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import jsonschema
import pytest
import yaml
from django.conf import settings

from compat import routing as compat_routing
from compat.consumers import LegacyMessagesConsumer, LegacyNotificationsConsumer
from messaging import limits
from messaging.models import Notification
from realtime import asyncapi, routing
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
from realtime.kernel import closecodes

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


def is_valid(frame: Any, *, channel: str | None, direction: str = "send") -> bool:
    validate = validate_client_frame if direction == "send" else validate_server_frame
    try:
        validate(frame, channel=channel)
    except jsonschema.ValidationError:
        return False
    return True


def schema_types(action: str, channel: str | None = None) -> set[str | None]:
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
    assert legacy_schemas == {
        "LegacyClientMessageFrame",
        "LegacyClientNotificationFrame",
        "LegacyMessageFrame",
        "LegacyPresenceFrame",
    }
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
    # auth / auth_ok (socket lifetime) on every socket.
    assert schema_types("send", MESSAGES) == {"message", "typing", "react", "auth"}
    assert schema_types("send", NOTIFICATIONS) == {"notification", "read", "auth"}
    assert schema_types("receive", MESSAGES) == {
        "message", "ack", "history", "resync", "typing", "message_updated", "message_deleted", "messages_purged",
        "error", "thread_updated", "reaction", "message_pinned", "message_unpinned", "auth_ok",
    }  # fmt: skip
    assert schema_types("receive", NOTIFICATIONS) == {
        "notification", "notifications_read", "unread", "presence", "ack", "error",
        "room_created", "room_updated", "room_deleted", "auth_ok",
    }  # fmt: skip
    # back_chat's frames have no type (None): they are told apart by their mtype.
    assert schema_types("send", LEGACY_MESSAGES) == {None, "message", "typing", "react", "auth"}
    assert schema_types("send", LEGACY_NOTIFICATIONS) == {None, "notification", "read", "auth"}
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
        assert cast(Any, pattern.callback).consumer_class is CONSUMERS[channel["address"]]
    assert len(routed) == len(document()["channels"])


def test_a_path_names_its_own_channel():
    assert asyncapi.channel_name("/ws/messages/") == "messages"
    assert asyncapi.channel_name("/ws/messages") == "legacyMessages"
    assert asyncapi.channel_name("/ws/notifications") == "legacyNotifications"
    with pytest.raises(ValueError, match="No channel"):
        asyncapi.channel_name("/ws/other/")
