"""How large what clients send to the messaging domain may be: defined once, here, for the services,
the REST serializers and the socket protocol alike. Where a column holds the value, its ``max_length``
is the limit, so the database and the checks cannot disagree.

(The message length itself is a setting, CHAT_MAX_MESSAGE_LENGTH; upload sizes are settings too.)
"""

from __future__ import annotations

from django.db.models import Field, Model

from messaging.models import Message, Notification, Room


def _max_length(model: type[Model], name: str) -> int:
    """The ``max_length`` of a text column."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or field.max_length is None:
        raise TypeError(f"{model.__name__}.{name} has no max_length")
    return field.max_length


ROOM_SLUG = _max_length(Room, "slug")
ROOM_NAME = _max_length(Room, "name")
ROOM_TOPIC = _max_length(Room, "topic")
CLIENT_ID = _max_length(Message, "client_id")
ATTACHMENTS_PER_MESSAGE = 10
NOTIFICATION_TITLE = _max_length(Notification, "title")
NOTIFICATION_BODY = 2000
NOTIFICATION_RECIPIENTS = 100
MENTIONS_PER_MESSAGE = 20
IDS_PER_REQUEST = 1000  # notification ids marked read at once

# A moderation reason (ban, mute) or a report's reason.
MODERATION_REASON = 500
