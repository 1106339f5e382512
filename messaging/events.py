"""Pure builders of the JSON shapes that leave the server: REST bodies and socket frames alike.

One function per shape, so a message looks the same in a history page, a broadcast frame and a
replay; no function here touches the database beyond attributes already loaded by the caller.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, overload

from django.urls import reverse

from messaging.models import Attachment, Message, MessageVersion, Notification, Room
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
    return _user_summary(user.pk, user.username, user.display_name, user.role, user.is_bot, user.bot_owner_id)


def _user_summary(
    user_id: int, username: str, display_name: str, role: str, is_bot: bool, owner: int | None
) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": username,
        "display_name": display_name,
        "role": role,
        "is_bot": is_bot,
        "owner": owner,
    }


def attachment_payload(attachment: Attachment) -> dict[str, Any]:
    return attachment_row_payload(
        attachment.pk, attachment.original_name, attachment.content_type, attachment.size, attachment.thumbnail.name
    )


# The columns of an attachment that attachment_row_payload takes, in its order after the message's id:
# ``Attachment.objects.values_list("message_id", *ATTACHMENT_COLUMNS)`` (the fast history path).
ATTACHMENT_COLUMNS = ("id", "original_name", "content_type", "size", "thumbnail")


def attachment_row_payload(
    attachment_id: int, original_name: str, content_type: str, size: int, thumbnail: str | None
) -> dict[str, Any]:
    """An attachment from its columns (``thumbnail``: the stored file's name, empty or null for none)."""
    return {
        "id": attachment_id,
        # Also for names stored before they were made to end in their type's extension, or edited in the admin.
        "name": name_for_type(original_name, content_type),
        "size": size,
        "content_type": content_type,
        "url": reverse("file-detail", args=[attachment_id]),
        "thumbnail_url": reverse("file-thumbnail", args=[attachment_id]) if thumbnail else None,
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
    sender = message.sender
    row = {
        "id": message.pk,
        "seq": message.seq,
        "sender_id": message.sender_id,
        "sender__username": sender.username if sender is not None else None,
        "sender__display_name": sender.display_name if sender is not None else None,
        "sender__role": sender.role if sender is not None else None,
        "sender__is_bot": sender.is_bot if sender is not None else None,
        "sender__bot_owner_id": sender.bot_owner_id if sender is not None else None,
        **{column: getattr(message, column) for column in MESSAGE_COLUMNS[_SENDER_COLUMNS:]},
    }
    files = [] if deleted else [attachment_payload(a) for a in attachments or ()]
    return message_row_payload(row, room_slug=room_slug or message.room.slug, attachments=files)


# The columns message_row_payload reads: ``Message.objects.values(*MESSAGE_COLUMNS)`` builds a page of
# payloads without a model instance per row (the fast history path, messaging/selectors.py).
MESSAGE_COLUMNS = (
    "id", "seq", "sender_id", "sender__username", "sender__display_name", "sender__role", "sender__is_bot",
    "sender__bot_owner_id",
    "content", "created_at", "edited_at", "client_id", "reply_to_id", "is_deleted", "thread_root_id",
    "reply_count", "last_reply_at", "thread_participants", "html", "reaction_summary", "pinned_at",
)  # fmt: skip
_SENDER_COLUMNS = 8  # the columns above up to the sender's; the rest are the message's own fields


def message_row_payload(row: dict[str, Any], *, room_slug: str, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    """The one shape of a message (message_payload builds it from a model): ``row`` holds
    MESSAGE_COLUMNS, ``attachments`` the attachments' payloads (ignored when deleted)."""
    deleted = row["is_deleted"]
    sender_id = row["sender_id"]
    return {
        "id": row["id"],
        "seq": row["seq"],
        "room": room_slug,
        "sender": (
            None
            if sender_id is None
            else _user_summary(
                sender_id,
                row["sender__username"],
                row["sender__display_name"],
                row["sender__role"],
                row["sender__is_bot"],
                row["sender__bot_owner_id"],
            )
        ),
        "content": "" if deleted else row["content"],
        "created_at": timestamp(row["created_at"]),
        "edited_at": timestamp(row["edited_at"]),
        "client_id": row["client_id"] or None,
        "reply_to": row["reply_to_id"],
        "deleted": deleted,
        "attachments": [] if deleted else attachments,
        "thread_root": row["thread_root_id"],
        "reply_count": row["reply_count"],
        "last_reply_at": timestamp(row["last_reply_at"]),
        "thread_participants": list(row["thread_participants"] or []),
        "html": "" if deleted else row["html"],
        "reactions": [] if deleted else list(row["reaction_summary"]),
        "pinned": row["pinned_at"] is not None,
    }


def message_created(message: Message, *, room_slug: str, attachments: list[Attachment] | None = None) -> dict[str, Any]:
    return {"type": "message", "message": message_payload(message, room_slug=room_slug, attachments=attachments)}


def message_updated(message: Message) -> dict[str, Any]:
    return {"type": "message_updated", "message": message_payload(message)}


def message_deleted(message: Message) -> dict[str, Any]:
    return {"type": "message_deleted", "id": message.pk, "seq": message.seq, "room": message.room.slug}


def thread_updated(root: Message, *, room_slug: str) -> dict[str, Any]:
    """A thread root's counters changed (a reply was posted, deleted or purged)."""
    return {
        "type": "thread_updated",
        "room": room_slug,
        "message_id": root.pk,
        "reply_count": root.reply_count,
        "last_reply_at": timestamp(root.last_reply_at),
        "thread_participants": list(root.thread_participants or []),
    }


def reaction(message: Message, *, emoji: str, user: User, added: bool) -> dict[str, Any]:
    """Someone added (``added``) or removed ``emoji`` on a message; the message's ``reactions`` hold the totals."""
    return {
        "type": "reaction",
        "room": message.room.slug,
        "message_id": message.pk,
        "seq": message.seq,
        "emoji": emoji,
        "user": {"id": user.pk, "username": user.username},
        "added": added,
    }


def message_pinned(message: Message, *, user: User) -> dict[str, Any]:
    return _pin_frame("message_pinned", message, user)


def message_unpinned(message: Message, *, user: User) -> dict[str, Any]:
    """A message was unpinned, or deleted while pinned."""
    return _pin_frame("message_unpinned", message, user)


def _pin_frame(kind: str, message: Message, user: User) -> dict[str, Any]:
    return {
        "type": kind,
        "room": message.room.slug,
        "message_id": message.pk,
        "seq": message.seq,
        "user": {"id": user.pk, "username": user.username},
    }


def message_version_payload(version: MessageVersion) -> dict[str, Any]:
    """An earlier text of an edited message (``edited_at`` null for its first text)."""
    return {"content": version.content, "html": version.html, "edited_at": timestamp(version.edited_at)}


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


def room_payload(room: Room, *, direct_members: list[User] | None = None) -> dict[str, Any]:
    """A room as everyone who may see it sees it (no per-user field: no role, read state or unread);
    a direct room names its members (``direct_members``, by username), any other room has null."""
    return {
        "id": room.pk,
        "slug": room.slug,
        "name": room.name,
        "topic": room.topic,
        "kind": room.kind,
        "archived": room.archived,
        "created_at": timestamp(room.created_at),
        "direct_members": (
            None
            if room.kind != Room.Kind.DIRECT
            else [user_summary(user) for user in sorted(direct_members or (), key=lambda u: u.username)]
        ),
    }


def room_created(room: Room, *, direct_members: list[User] | None = None) -> dict[str, Any]:
    """A room appeared for the recipient: created (public: everyone; private and direct: its members)."""
    return {"type": "room_created", "room": room_payload(room, direct_members=direct_members)}


def room_updated(room: Room, *, direct_members: list[User] | None = None) -> dict[str, Any]:
    """A room's name, topic, archived state (or other setting) changed."""
    return {"type": "room_updated", "room": room_payload(room, direct_members=direct_members)}


def room_deleted(room: Room, *, direct_members: list[User] | None = None) -> dict[str, Any]:
    """A room was deleted with its messages and files (the room as it was)."""
    return {"type": "room_deleted", "room": room_payload(room, direct_members=direct_members)}
