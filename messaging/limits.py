"""How large what clients send to the messaging domain may be: defined once, here, for the services,
the REST serializers and the socket protocol alike. Where a column holds the value, its ``max_length``
is the limit, so the database and the checks cannot disagree.

(The message length itself is a setting, CHAT_MAX_MESSAGE_LENGTH; upload sizes are settings too.)
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Field, Model

from messaging.models import Message, Notification, Reaction, Room


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
THREAD_PARTICIPANTS = 20  # repliers' ids a thread root carries
THREAD_PAGE = 50  # replies per page of GET /messages/{id}/thread/ (default)
THREAD_MAX_PAGE = 200
READERS = 200  # at most this many readers in GET /messages/{id}/readers/
REACTION_EMOJI = _max_length(Reaction, "emoji")  # an emoji's code points (ZWJ sequences are long)
REACTION_SHORT_CODE = 32  # the name between the colons of a ``:short_code:``
REACTIONS_PER_MESSAGE = 20  # distinct emoji on one message
REACTION_USER_IDS = 20  # user ids listed per emoji in a payload (``count`` has them all)
PINS_PER_ROOM = 100
EDIT_VERSIONS = 100  # earlier versions listed by GET /messages/{id}/history/ (the newest ones)
DIRECT_ROOM_OTHERS = 8  # people besides the caller in a group direct conversation
LONGEST_MUTE = timedelta(days=365)  # muted_until at most this far ahead (level "none" silences for good)

# A moderation reason (ban, mute) or a report's reason.
MODERATION_REASON = 500
