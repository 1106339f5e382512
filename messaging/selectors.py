"""Reads of the messaging domain, every one checked against what the caller may see.

A room the caller may not read raises the same NotFound as a missing one, so the API never reveals
that a private room exists. Every selector runs a fixed number of queries, whatever the page size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.errors import NotFound
from messaging.events import PREFETCHED_ATTACHMENTS
from messaging.models import (
    GENERAL_ROOM_SLUG,
    Attachment,
    Membership,
    Message,
    MessageReport,
    Notification,
    Room,
    RoomSanction,
)
from users.models import User


class RoomNotFound(NotFound):
    """The room does not exist or the caller may not read it."""

    default_detail = "No such room."


class MessageNotFound(NotFound):
    """The message does not exist or is in a room the caller may not read."""

    default_detail = "No such message."


class AttachmentNotFound(NotFound):
    """The file does not exist or the caller may not see it."""

    default_detail = "No such file."


def active_bans(*, user_id: Any, room: Any) -> QuerySet[RoomSanction]:
    """The ban of ``user_id`` in ``room`` that is in force now (values or outer references)."""
    in_force = Q(until__isnull=True) | Q(until__gt=timezone.now())
    return RoomSanction.objects.filter(in_force, room=room, user_id=user_id, kind=RoomSanction.Kind.BAN)


def active_mute(*, user_id: int, room_id: int) -> RoomSanction | None:
    """The mute of ``user_id`` in a room that is in force now, if any."""
    return RoomSanction.objects.filter(
        room_id=room_id, user_id=user_id, kind=RoomSanction.Kind.MUTE, until__gt=timezone.now()
    ).first()


def readable_rooms(*, user: User) -> QuerySet[Room]:
    """Rooms ``user`` may read: every public room (active users who are not guests), and rooms they are
    a member of; never a room they are banned from."""
    if not user.is_active:
        return Room.objects.none()
    member = Membership.objects.filter(room=OuterRef("pk"), user=user)
    banned = active_bans(user_id=user.pk, room=OuterRef("pk"))
    if user.is_guest:
        return Room.objects.filter(Exists(member)).filter(~Exists(banned))
    return Room.objects.filter(Q(kind=Room.Kind.PUBLIC) | Exists(member)).filter(~Exists(banned))


def room_get_for_user(*, user: User, slug: str | None = None, room_id: int | None = None) -> Room:
    """One readable room by slug (default ``general``) or id; RoomNotFound otherwise (also for a guest
    and a public room it was not added to, and for a room the user is banned from).

    One query: the room with whether the user is banned from it and whether they are a member.
    """
    lookup = {"pk": room_id} if room_id is not None else {"slug": slug or GENERAL_ROOM_SLUG}
    if not user.is_active:
        raise RoomNotFound()
    try:
        room = Room.objects.annotate(
            user_banned=Exists(active_bans(user_id=user.pk, room=OuterRef("pk"))),
            user_is_member=Exists(Membership.objects.filter(room=OuterRef("pk"), user=user)),
        ).get(**lookup)
    except (Room.DoesNotExist, ValueError, TypeError):
        raise RoomNotFound() from None
    if getattr(room, "user_banned", False):
        raise RoomNotFound()
    if (room.is_public and not user.is_guest) or getattr(room, "user_is_member", False):
        return room
    raise RoomNotFound()


def room_writable(*, user_id: int, room: Room) -> bool:
    """Whether an active user may write ``room`` now (read fresh, not from a cached user): a member,
    or for a public room any active user who is not a guest; never a banned user."""
    if active_bans(user_id=user_id, room=room).exists():
        return False
    if room.is_public:
        member = Membership.objects.filter(room=room, user_id=OuterRef("pk"))
        return User.objects.filter(Q(Exists(member)) | ~Q(role=User.Role.GUEST), pk=user_id, is_active=True).exists()
    return Membership.objects.filter(room=room, user_id=user_id, user__is_active=True).exists()


def room_moderates(*, user: User, room: Room) -> bool:
    """Whether ``user`` moderates ``room``: a workspace admin or moderator, or the room's owner or
    moderator (read fresh)."""
    if not user.is_active:
        return False
    if user.is_workspace_moderator:
        return True
    roles = (Membership.Role.OWNER, Membership.Role.MODERATOR)
    return Membership.objects.filter(room=room, user=user, role__in=roles).exists()


def room_post_policy(*, room_id: int) -> str:
    """A room's post policy, read fresh (a socket's room object may come from a cache)."""
    policy = Room.objects.filter(pk=room_id).values_list("post_policy", flat=True).first()
    return policy or Room.PostPolicy.EVERYONE


def room_bans(*, room: Room) -> QuerySet[RoomSanction]:
    """Bans in force in a room (access already checked), newest first."""
    return (
        RoomSanction.objects.filter(room=room, kind=RoomSanction.Kind.BAN)
        .filter(Q(until__isnull=True) | Q(until__gt=timezone.now()))
        .select_related("user")
        .order_by("-id")
    )


def room_mutes(*, room: Room) -> QuerySet[RoomSanction]:
    """Mutes in force in a room, newest first."""
    return (
        RoomSanction.objects.filter(room=room, kind=RoomSanction.Kind.MUTE, until__gt=timezone.now())
        .select_related("user")
        .order_by("-id")
    )


def report_list(*, user: User, status: str | None = MessageReport.Status.OPEN) -> QuerySet[MessageReport]:
    """Reports a moderator may read: every one for workspace admins and moderators, those of the rooms
    they own or moderate for others (none for anyone else); open ones unless ``status`` says otherwise."""
    reports = MessageReport.objects.select_related("message", "message__sender", "room", "reporter").order_by("-id")
    if status:
        reports = reports.filter(status=status)
    if user.is_workspace_moderator:
        return reports
    roles = (Membership.Role.OWNER, Membership.Role.MODERATOR)
    moderated = Membership.objects.filter(user=user, role__in=roles).values("room")
    return reports.filter(room__in=moderated)


def membership_get(*, user: User, room: Room) -> Membership | None:
    return Membership.objects.filter(room=room, user=user).first()


@dataclass(frozen=True)
class MessagePage:
    """A page of history, oldest first, and whether more exists on either side."""

    room: Room
    messages: list[Message]
    has_older: bool
    has_newer: bool


def _messages_with_relations(room: Room) -> QuerySet[Message]:
    # Attachments into a plain list (``to_attr``), which events.message_payload reads: the default
    # prefetch builds a related manager and a queryset per message, most of a history page's CPU.
    attachments = Prefetch("attachments", queryset=Attachment.objects.order_by("pk"), to_attr=PREFETCHED_ATTACHMENTS)
    return Message.objects.filter(room=room).select_related("sender").prefetch_related(attachments)


def message_page(
    *,
    user: User,
    room_slug: str | None = None,
    before: int | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> MessagePage:
    """History of a readable room by seq cursors: the newest page, the page before ``before``, or
    the page after ``after`` (both: the slice between them, from ``after``). Three queries."""
    room = room_get_for_user(user=user, slug=room_slug)
    limit = max(1, min(limit or settings.CHAT_HISTORY_PAGE_SIZE, settings.CHAT_HISTORY_MAX_PAGE))
    messages = _messages_with_relations(room)
    if before is not None:
        messages = messages.filter(seq__lt=before)
    if after is not None:
        rows = _in_room(room, messages.filter(seq__gt=after).order_by("seq")[: limit + 1])
        return MessagePage(room, rows[:limit], has_older=after > 0, has_newer=len(rows) > limit)
    rows = _in_room(room, messages.order_by("-seq")[: limit + 1])
    newest_first = rows[:limit]
    newest_first.reverse()
    return MessagePage(room, newest_first, has_older=len(rows) > limit, has_newer=before is not None)


def _in_room(room: Room, messages: QuerySet[Message]) -> list[Message]:
    """Evaluate ``messages`` and point each at the already-loaded ``room`` (no query per row)."""
    rows = list(messages)
    for message in rows:
        message.room = room
    return rows


def messages_after(*, room: Room, after: int, limit: int) -> list[Message]:
    """Up to ``limit`` messages of ``room`` with seq > ``after``, oldest first (replay after reconnect).

    The caller has already checked access to ``room``.
    """
    return _in_room(room, _messages_with_relations(room).filter(seq__gt=after).order_by("seq")[:limit])


def message_list_for_user(*, user: User) -> QuerySet[Message]:
    """Every message in a room ``user`` may read (deleted ones included), unevaluated."""
    return Message.objects.filter(room__in=readable_rooms(user=user))


def message_get_for_user(*, user: User, message_id: int) -> Message:
    """One message in a room the caller may read (deleted ones included); MessageNotFound otherwise."""
    try:
        return (
            Message.objects.select_related("sender", "room")
            .prefetch_related("attachments")
            .get(pk=message_id, room__in=readable_rooms(user=user))
        )
    except (Message.DoesNotExist, ValueError, TypeError):
        raise MessageNotFound() from None


def _unread_count(*, room: Any, after_seq: Any, reader: Any) -> Coalesce:
    """The one unread rule, as an expression: others' live messages of ``room`` after ``after_seq``
    (the reader's read position). Arguments are values or outer references of the query it goes in."""
    unread = (
        Message.objects.filter(room=room, is_deleted=False, seq__gt=after_seq)
        .exclude(sender=reader)
        .order_by()
        .values("room")
        .annotate(count=Count("*"))
        .values("count")
    )
    return Coalesce(Subquery(unread, output_field=IntegerField()), Value(0))


def room_list_for_user(*, user: User) -> QuerySet[Room]:
    """Readable rooms with the caller's role, read state, unread count and (for direct rooms) the
    other person's username, in one query."""
    mine = Membership.objects.filter(room=OuterRef("pk"), user=user)
    unread = _unread_count(room=OuterRef("pk"), after_seq=OuterRef("last_read_seq"), reader=user)
    # Only a direct room has "the other person"; any other room would name an arbitrary member.
    peer = Membership.objects.filter(room=OuterRef("pk")).exclude(user=user).values("user__username")[:1]
    direct_peer = Case(When(kind=Room.Kind.DIRECT, then=Subquery(peer)), default=None)
    return (
        readable_rooms(user=user)
        .annotate(
            is_member=Exists(mine),
            role=Subquery(mine.values("role")[:1]),
            last_read_seq=Subquery(mine.values("last_read_seq")[:1]),
        )
        .annotate(
            unread=unread,
            direct_peer=direct_peer,
        )
        # Public rooms first, general first among them; then private rooms; then direct messages.
        .order_by(
            Case(When(kind=Room.Kind.PUBLIC, then=0), When(kind=Room.Kind.PRIVATE, then=1), default=2),
            Case(When(slug=GENERAL_ROOM_SLUG, then=0), default=1),
            "name",
            "slug",
        )
    )


def room_members(*, user: User, room: Room) -> QuerySet[Membership]:
    """Members of a room the caller may read (access already checked by room_get_for_user)."""
    return Membership.objects.filter(room=room).select_related("user").order_by("user__username")


def unread_counts(*, user: User, rooms: list[Room]) -> dict[int, int]:
    """Unread count per room id for ``user`` (rooms without a membership count 0), in one query."""
    if not rooms:
        return {}
    readable = room_list_for_user(user=user).filter(pk__in=[room.pk for room in rooms])
    # room_list_for_user annotates "unread"; django-stubs types its QuerySet[Room] without the annotation.
    return dict(readable.values_list("pk", "unread"))  # type: ignore[misc]


def unread_counts_for_users(*, room_id: int, user_ids: list[int]) -> dict[int, int]:
    """Unread count of one room for each of ``user_ids`` who is a member (others count 0, as in
    ``unread_counts``), in one query: what the hub sends notification sockets when a room changes."""
    if not user_ids:
        return {}
    counts = (
        Membership.objects.filter(room_id=room_id, user_id__in=user_ids)
        .annotate(unread=_unread_count(room=room_id, after_seq=OuterRef("last_read_seq"), reader=OuterRef("user_id")))
        .values_list("user_id", "unread")
    )
    return dict(counts)


def notification_list(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(recipient=user).order_by("-id")
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications


def attachment_get_for_user(*, user: User, attachment_id: int) -> Attachment:
    """A file its uploader may always fetch; others only when it is attached to a live message in a
    room they may read. Anything else is AttachmentNotFound (missing and forbidden look the same)."""
    try:
        attachment = Attachment.objects.select_related("message").get(pk=attachment_id)
    except (Attachment.DoesNotExist, ValueError, TypeError):
        raise AttachmentNotFound() from None
    if attachment.uploader_id == user.pk and user.is_active:
        return attachment
    message = attachment.message
    if message is None or message.is_deleted:
        raise AttachmentNotFound()
    if not readable_rooms(user=user).filter(pk=message.room_id).exists():
        raise AttachmentNotFound()
    return attachment


def users_sharing_a_room(*, user: User, user_ids: list[int]) -> list[User]:
    """Those of ``user_ids`` (active) who share a readable room with ``user``: every active user
    shares the public rooms, so this matters only when no public room exists, or for a guest (who
    reads only the rooms it was added to)."""
    candidates = User.objects.filter(pk__in=user_ids, is_active=True)
    if not user.is_guest and Room.objects.filter(kind=Room.Kind.PUBLIC).exists():
        return list(candidates)
    my_rooms = Membership.objects.filter(user=user).values("room")
    return list(candidates.filter(memberships__room__in=my_rooms).distinct())


# The switch of users/preferences.py (under ``notifications``) that turns each kind of message
# notification off; other kinds (from a user, purges) are always delivered.
PREFERENCE_FOR_KIND: dict[str, str] = {
    Notification.Kind.MENTION: "mentions",
    Notification.Kind.DIRECT_MESSAGE: "direct_messages",
    Notification.Kind.FILE_SHARED: "file_shared",
}


def notification_wanted(*, user: User, kind: str) -> bool:
    """Whether ``user``'s preferences let a notification of ``kind`` through."""
    key = PREFERENCE_FOR_KIND.get(kind)
    switches = (user.preferences or {}).get("notifications", {})
    return key is None or switches.get(key, True) is not False
