"""The AsyncAPI schemas refuse frames the server never sends (split from test_asyncapi_frames.py)."""

from __future__ import annotations

import pytest

from messaging import events
from realtime.tests.test_asyncapi import is_valid
from realtime.tests.test_asyncapi_frames import rich_data  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_schemas_refuse_what_the_server_never_sends(rich_data):  # noqa: F811 (the fixture)
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
