"""Pure builders of the JSON shapes that leave the server: REST bodies and socket frames alike.

One function per shape, so a message looks the same in a history page, a broadcast frame and a
replay; no function here touches the database beyond attributes already loaded by the caller.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, overload

from django.urls import reverse

from messaging.models import Attachment, Message, Notification, Room
from messaging.sniffing import name_for_type
from users.models import User


@overload
def timestamp(value: datetime) -> str: ...
@overload
def timestamp(value: None) -> None: ...
def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as DRF renders datetimes."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@overload
def user_summary(user: User) -> dict[str, Any]: ...
@overload
def user_summary(user: None) -> None: ...
def user_summary(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "is_bot": user.is_bot,
        "owner": user.bot_owner_id,
    }


def attachment_payload(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        # Also for names stored before they were made to end in their type's extension, or edited in the admin.
        "name": name_for_type(attachment.original_name, attachment.content_type),
        "size": attachment.size,
        "content_type": attachment.content_type,
        "url": reverse("file-detail", args=[attachment.pk]),
        "thumbnail_url": reverse("file-thumbnail", args=[attachment.pk]) if attachment.thumbnail else None,
    }


# The attribute where the history selectors prefetch a message's attachments (``Prefetch(to_attr=...)``).
PREFETCHED_ATTACHMENTS = "prefetched_attachments"


def message_payload(
    message: Message, *, room_slug: str | None = None, attachments: list[Attachment] | None = None
) -> dict[str, Any]:
    """A message as every client sees it; a deleted message keeps its place (seq) but not its content.

    ``attachments`` spares a query when the caller already holds them (the send path); so does the
    list that the history selectors prefetch into ``PREFETCHED_ATTACHMENTS``.
    """
    deleted = message.is_deleted
    if attachments is None and not deleted:
        attachments = getattr(message, PREFETCHED_ATTACHMENTS, None)
        if attachments is None:
            attachments = list(message.attachments.all())
    return {
        "id": message.pk,
        "seq": message.seq,
        "room": room_slug or message.room.slug,
        "sender": user_summary(message.sender),
        "content": "" if deleted else message.content,
        "created_at": timestamp(message.created_at),
        "edited_at": timestamp(message.edited_at),
        "client_id": message.client_id or None,
        "reply_to": message.reply_to_id,
        "deleted": deleted,
        "attachments": [] if deleted else [attachment_payload(a) for a in attachments or ()],
    }


def message_created(message: Message, *, room_slug: str, attachments: list[Attachment] | None = None) -> dict[str, Any]:
    return {"type": "message", "message": message_payload(message, room_slug=room_slug, attachments=attachments)}


def message_updated(message: Message) -> dict[str, Any]:
    return {"type": "message_updated", "message": message_payload(message)}


def message_deleted(message: Message) -> dict[str, Any]:
    return {"type": "message_deleted", "id": message.pk, "seq": message.seq, "room": message.room.slug}


def messages_purged(room: Room | None) -> dict[str, Any]:
    return {"type": "messages_purged", "room": room.slug if room else None}


def notification_payload(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "data": notification.data,
        "created_at": timestamp(notification.created_at),
        "read_at": timestamp(notification.read_at),
    }


def notification_created(notification: Notification) -> dict[str, Any]:
    return {"type": "notification", "notification": notification_payload(notification)}


def notifications_read(ids: list[int] | None) -> dict[str, Any]:
    """Tell the user's other devices which notifications were read (None: all of them)."""
    return {"type": "notifications_read", "ids": ids}


def unread(*, room_slug: str, count: int) -> dict[str, Any]:
    """How many messages of others the user has not read in a room."""
    return {"type": "unread", "room": room_slug, "count": count}
