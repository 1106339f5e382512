"""Reads of the messaging domain, every one checked against what the caller may see.

A room the caller may not read raises the same NotFound as a missing one, so the API never reveals
that a private room exists. Every selector runs a fixed number of queries, whatever the page size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from core.errors import NotFound
from core.prepared import PreparedQuery, fits_bigint
from messaging import limits
from messaging.events import (
    ATTACHMENT_COLUMNS,
    MESSAGE_COLUMNS,
    PREFETCHED_ATTACHMENTS,
    attachment_row_payload,
    message_row_payload,
)
from messaging.models import (
    GENERAL_ROOM_SLUG,
    Attachment,
    Membership,
    Message,
    MessageReport,
    MessageVersion,
    Notification,
    Reaction,
    Room,
    RoomSanction,
    ThreadFollow,
)
from users.models import User

T = TypeVar("T")


class Usernames(Aggregate):
    """Usernames joined by commas (GROUP_CONCAT on SQLite, STRING_AGG on PostgreSQL), in any order."""

    function = "GROUP_CONCAT"
    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler, connection, function="STRING_AGG", template="%(function)s(%(expressions)s, ',')", **extra_context
        )


class RoomNotFound(NotFound):
    """The room does not exist or the caller may not read it."""

    default_detail = "No such room."


class MessageNotFound(NotFound):
    """The message does not exist or is in a room the caller may not read."""

    default_detail = "No such message."


class AttachmentNotFound(NotFound):
    """The file does not exist or the caller may not see it."""

    default_detail = "No such file."


def active_bans(*, user_id: Any, room: Any, now: datetime | None = None) -> QuerySet[RoomSanction]:
    """The ban of ``user_id`` in ``room`` that is in force ``now`` (values or outer references)."""
    in_force = Q(until__isnull=True) | Q(until__gt=now or timezone.now())
    return RoomSanction.objects.filter(in_force, room=room, user_id=user_id, kind=RoomSanction.Kind.BAN)


def active_mutes(*, user_id: Any, room: Any) -> QuerySet[RoomSanction]:
    """The mute of ``user_id`` in ``room`` that is in force now (values or outer references)."""
    in_force = Q(until__gt=timezone.now())
    return RoomSanction.objects.filter(in_force, room=room, user_id=user_id, kind=RoomSanction.Kind.MUTE)


def readable_rooms(*, user: User) -> QuerySet[Room]:
    """Rooms ``user`` may read: every public room (active users who are not guests), and rooms they are
    a member of; never a room they are banned from."""
    if not user.is_active:
        return Room.objects.none()
    return readable_rooms_of(user_id=user.pk, is_guest=user.is_guest)


def readable_rooms_of(*, user_id: int, is_guest: bool, now: datetime | None = None) -> QuerySet[Room]:
    """readable_rooms of an active user by id (bans in force ``now``): what a compiled query is built from."""
    member = Membership.objects.filter(room=OuterRef("pk"), user_id=user_id)
    banned = active_bans(user_id=user_id, room=OuterRef("pk"), now=now)
    if is_guest:
        return Room.objects.filter(Exists(member)).filter(~Exists(banned))
    return Room.objects.filter(Q(kind=Room.Kind.PUBLIC) | Exists(member)).filter(~Exists(banned))


def room_get_for_user(*, user: User, slug: str | None = None, room_id: int | None = None) -> Room:
    """One readable room by slug (default ``general``) or id; RoomNotFound otherwise (also for a guest
    and a public room it was not added to, and for a room the user is banned from).

    One query: the room with whether the user is banned from it and whether they are a member, its SQL
    compiled once (``core.prepared``); values of other types than the ORM's go through the ORM.
    """
    if not user.is_active:
        raise RoomNotFound()
    if room_id is not None:
        lookup: dict[str, Any] = {"room_id": room_id}
        plain = type(room_id) is int and fits_bigint(room_id)
    else:
        lookup = {"slug": slug or GENERAL_ROOM_SLUG}
        plain = isinstance(lookup["slug"], str)
    if plain:
        rows = _ROOM_WITH_ACCESS.rows(user_id=user.pk, now=timezone.now(), **lookup)
        room = Room.from_db(_ROOM_WITH_ACCESS.using, _ROOM_FIELDS, rows[0][:-2]) if rows else None
        if room is not None:  # what the ORM's annotate() sets
            room.__dict__.update(zip(("user_banned", "user_is_member"), rows[0][-2:], strict=True))
    else:
        room = _room_with_access_orm(user, {"pk": room_id} if room_id is not None else lookup)
    if room is None or getattr(room, "user_banned", False):
        raise RoomNotFound()
    if (room.is_public and not user.is_guest) or getattr(room, "user_is_member", False):
        return room
    raise RoomNotFound()


_ROOM_FIELDS = [field.attname for field in Room._meta.concrete_fields]


def _rooms_with_access(user_id: Any, now: datetime | None = None) -> QuerySet[Room]:
    return Room.objects.annotate(
        user_banned=Exists(active_bans(user_id=user_id, room=OuterRef("pk"), now=now)),
        user_is_member=Exists(Membership.objects.filter(room=OuterRef("pk"), user_id=user_id)),
    )


def _room_with_access_orm(user: User, lookup: dict[str, Any]) -> Room | None:
    try:
        return _rooms_with_access(user.pk).get(**lookup)
    except (Room.DoesNotExist, ValueError, TypeError):
        return None


def _room_with_access_query(shape: object, *, user_id: int, now: datetime, **lookup: Any) -> QuerySet[Any]:
    lookup = {"pk": lookup["room_id"]} if "room_id" in lookup else lookup
    return _rooms_with_access(user_id, now).filter(**lookup).values_list(*_ROOM_FIELDS, "user_banned", "user_is_member")


_ROOM_WITH_ACCESS = PreparedQuery(_room_with_access_query)


def users_who_may_read(users: QuerySet[User], *, room: Room) -> QuerySet[User]:
    """``users`` narrowed to those who may read ``room`` now: readable_rooms' rule, for many users in one
    query (active; a member, or for a public room anyone but a guest; never banned). Who is told about a
    message (mentions, thread replies) goes through it, or a notification would carry a room's text to
    a guest it was never added to or to someone banned from it."""
    member = Exists(Membership.objects.filter(room=room, user=OuterRef("pk")))
    users = users.filter(is_active=True).exclude(Exists(active_bans(user_id=OuterRef("pk"), room=room)))
    if room.is_public:
        return users.filter(member | ~Q(role=User.Role.GUEST) | Q(is_staff=True))
    return users.filter(member)


def public_room_outsiders(*, room: Room) -> list[int]:
    """Active users who may not see the public ``room`` (readable_rooms' rule from the other side):
    guests it was not added to, and users banned from it. Frames about the room that go to everyone's
    sockets skip them, or a guest would learn of rooms it is not in and a banned user of a room it left."""
    member = Membership.objects.filter(room=room, user=OuterRef("pk"))
    banned = active_bans(user_id=OuterRef("pk"), room=room)
    guest = Q(role=User.Role.GUEST, is_staff=False) & ~Q(Exists(member))
    return list(User.objects.filter(guest | Q(Exists(banned)), is_active=True).values_list("pk", flat=True))


def room_writable(*, user_id: int, room: Room) -> bool:
    """Whether an active user may write ``room`` now (read fresh, not from a cached user): a member,
    or for a public room any active user who is not a guest; never a banned user."""
    member = Exists(Membership.objects.filter(room=room, user_id=OuterRef("pk")))
    may_write = Q(member) | ~Q(role=User.Role.GUEST) if room.is_public else Q(member)
    banned = Exists(active_bans(user_id=OuterRef("pk"), room=room))
    return User.objects.filter(may_write, ~banned, pk=user_id, is_active=True).exists()  # one query


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


def room_sanctions(*, room: Room, kind: str) -> QuerySet[RoomSanction]:
    """The bans or mutes (``kind``) in force in a room (access already checked), newest first."""
    return (
        RoomSanction.objects.filter(room=room, kind=kind)
        .filter(Q(until__isnull=True) | Q(until__gt=timezone.now()))
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
    rows, has_older, has_newer = _history_slice(
        _messages_with_relations(room), before, after, limit, lambda messages: _in_room(room, messages)
    )
    return MessagePage(room, rows, has_older=has_older, has_newer=has_newer)


@dataclass(frozen=True)
class PayloadPage:
    """A page of history as message payloads (events.message_payload's shape), oldest first."""

    room: Room
    payloads: list[dict[str, Any]]
    has_older: bool
    has_newer: bool


def message_payload_page(
    *,
    user: User,
    room_slug: str | None = None,
    before: int | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> PayloadPage:
    """message_page built from column values, without a model instance per message or attachment
    (what a history request costs most): the same payloads, the same three queries, the page's SQL
    compiled once per shape (``core.prepared``)."""
    room = room_get_for_user(user=user, slug=room_slug)
    if fits_bigint(before) and fits_bigint(after):
        limit = _page_size(limit)
        cursors = {name: value for name, value in (("before", before), ("after", after)) if value is not None}
        fetched = _HISTORY_PAGE.dicts(limit, room_id=room.pk, **cursors)
        rows, has_older, has_newer = _slice_result(fetched, before, after, limit)
    else:  # a cursor past any column's range: the ORM knows what such a comparison matches
        rows, has_older, has_newer = _history_slice(Message.objects.filter(room=room), before, after, limit, _values)
    return PayloadPage(room, message_payloads(rows, room_slug=room.slug), has_older=has_older, has_newer=has_newer)


def _history_page_query(limit: int, *, room_id: int, **cursors: int) -> QuerySet[Any]:
    messages = _history_query(
        Message.objects.filter(room_id=room_id), cursors.get("before"), cursors.get("after"), limit
    )
    rows: QuerySet[Any] = messages.values(*MESSAGE_COLUMNS)
    return rows


_HISTORY_PAGE = PreparedQuery(_history_page_query)


def message_payloads(rows: list[dict[str, Any]], *, room_slug: str | None = None) -> list[dict[str, Any]]:
    """Payloads of message ``rows`` (``values(*MESSAGE_COLUMNS)``, plus ``room__slug`` without
    ``room_slug``), their attachments in one query (none when no message is live)."""
    files: dict[int, list[dict[str, Any]]] = {}
    live = [row["id"] for row in rows if not row["is_deleted"]]
    if live:
        for message_id, *attachment in _attachment_columns(live):
            files.setdefault(message_id, []).append(attachment_row_payload(*attachment))
    return [
        message_row_payload(row, room_slug=room_slug or row["room__slug"], attachments=files.get(row["id"], []))
        for row in rows
    ]


def _attachment_columns(message_ids: list[int]) -> list[tuple[Any, ...]]:
    """``message_id`` and ATTACHMENT_COLUMNS of the messages' attachments, by id. The SQL is written
    here rather than built and compiled by the ORM for every page (building and compiling a page's
    queries was a quarter of its CPU); text and integer columns only, which need no conversion."""
    quote = connection.ops.quote_name
    # get_field is typed to return a reverse relation too; these names are the model's own columns.
    names = [str(Attachment._meta.get_field(name).column) for name in ("message", *ATTACHMENT_COLUMNS)]  # type: ignore[union-attr]
    columns = ", ".join(quote(name) for name in names)
    placeholders = ", ".join(["%s"] * len(message_ids))
    table, message, pk = quote(Attachment._meta.db_table), quote(names[0]), quote(names[1])
    # Names come from the model, values go as parameters.
    sql = f"SELECT {columns} FROM {table} WHERE {message} IN ({placeholders}) ORDER BY {pk}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, message_ids)
        return list(cursor.fetchall())


def _values(messages: QuerySet[Message]) -> list[dict[str, Any]]:
    return list(messages.values(*MESSAGE_COLUMNS))


def _history_slice(
    messages: QuerySet[Message],
    before: int | None,
    after: int | None,
    limit: int | None,
    evaluate: Callable[[QuerySet[Message]], list[T]],
) -> tuple[list[T], bool, bool]:
    """The rows of a history page (``evaluate`` turns a sliced queryset into them), oldest first, and
    whether older and newer ones exist."""
    limit = _page_size(limit)
    return _slice_result(evaluate(_history_query(messages, before, after, limit)), before, after, limit)


def _page_size(limit: int | None) -> int:
    return max(1, min(limit or settings.CHAT_HISTORY_PAGE_SIZE, settings.CHAT_HISTORY_MAX_PAGE))


def _history_query(messages: QuerySet[Message], before: int | None, after: int | None, limit: int) -> QuerySet[Message]:
    """The page's rows and one more (which says whether the page has a neighbour): from ``after``
    upwards, or from the newest (or ``before``) downwards."""
    if before is not None:
        messages = messages.filter(seq__lt=before)
    if after is not None:
        return messages.filter(seq__gt=after).order_by("seq")[: limit + 1]
    return messages.order_by("-seq")[: limit + 1]


def _slice_result(rows: list[T], before: int | None, after: int | None, limit: int) -> tuple[list[T], bool, bool]:
    """The rows of ``_history_query``, oldest first, and whether older and newer ones exist."""
    if after is not None:
        return rows[:limit], after > 0, len(rows) > limit
    newest_first = rows[:limit]
    newest_first.reverse()
    return newest_first, len(rows) > limit, before is not None


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
    other people's usernames (``direct_peers``, comma-separated: usernames have no comma), in one query."""
    return room_list_of(readable_rooms(user=user), user_id=user.pk)


# The annotations of room_list_for_user, in their order.
ROOM_LIST_ANNOTATIONS = ("is_member", "role", "last_read_seq", "notify", "muted_until", "unread", "direct_peers")


def room_list_of(rooms: QuerySet[Room], *, user_id: int) -> QuerySet[Room]:
    """``rooms`` annotated and ordered as room_list_for_user lists them for ``user_id``."""
    mine = Membership.objects.filter(room=OuterRef("pk"), user_id=user_id)
    unread = _unread_count(room=OuterRef("pk"), after_seq=OuterRef("last_read_seq"), reader=user_id)
    # Only a direct room has "the other people"; any other room would name arbitrary members.
    peers = (
        Membership.objects.filter(room=OuterRef("pk"))
        .exclude(user_id=user_id)
        .order_by()
        .values("room")
        .annotate(names=Usernames("user__username"))
        .values("names")
    )
    direct_peers = Case(When(kind=Room.Kind.DIRECT, then=Subquery(peers)), default=None)
    return (
        rooms.annotate(
            is_member=Exists(mine),
            role=Subquery(mine.values("role")[:1]),
            last_read_seq=Subquery(mine.values("last_read_seq")[:1]),
            notify=Subquery(mine.values("notify")[:1]),
            muted_until=Subquery(mine.values("muted_until")[:1]),
        )
        .annotate(
            unread=unread,
            direct_peers=direct_peers,
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


def unread_counts_for_users(*, room_id: int, user_ids: list[int], skip_quiet: bool = False) -> dict[int, int]:
    """Unread count of one room for each of ``user_ids`` who is a member (others count 0, as in
    ``unread_counts``), in one query: what the hub sends notification sockets when a room changes.
    ``skip_quiet``: members who quietened the room (level ``none``, or muted now) are left out too."""
    if not user_ids:
        return {}
    memberships = Membership.objects.filter(room_id=room_id, user_id__in=user_ids)
    if skip_quiet:
        memberships = memberships.exclude(quiet_memberships())
    counts = memberships.annotate(
        unread=_unread_count(room=room_id, after_seq=OuterRef("last_read_seq"), reader=OuterRef("user_id"))
    ).values_list("user_id", "unread")
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


def quiet_memberships(now: datetime | None = None) -> Q:
    """Memberships whose room sends nothing now: level ``none``, or muted until later than ``now``."""
    return Q(notify=Membership.Notify.NONE) | Q(muted_until__gt=now or timezone.now())


def notify_allows(*, membership: Membership | None, mention: bool, now: datetime | None = None) -> bool:
    """The one rule of notification levels: whether a member hears about a message of the room (a
    notification, an email) now. Non-members (readers of a public room) have the default, ``all``;
    ``none`` and a mute running hear nothing; ``mentions`` hears about mentions only."""
    if membership is None:
        return True
    if membership.notify == Membership.Notify.NONE:
        return False
    if membership.muted_until is not None and membership.muted_until > (now or timezone.now()):
        return False
    return mention or membership.notify == Membership.Notify.ALL


def notify_memberships(*, room: Room, user_ids: list[int]) -> dict[int, Membership]:
    """The memberships of ``user_ids`` in ``room`` by user id (their levels), in one query."""
    if not user_ids:
        return {}
    rows = Membership.objects.filter(room=room, user_id__in=user_ids).only("user_id", "notify", "muted_until")
    return {membership.user_id: membership for membership in rows}


# The switch of users/preferences.py (under ``notifications``) that turns each kind of message
# notification off; other kinds (from a user, purges) are always delivered.
PREFERENCE_FOR_KIND: dict[str, str] = {
    Notification.Kind.MENTION: "mentions",
    Notification.Kind.DIRECT_MESSAGE: "direct_messages",
    Notification.Kind.FILE_SHARED: "file_shared",
    Notification.Kind.THREAD_REPLY: "thread_replies",
}


def notification_wanted(*, user: User, kind: str) -> bool:
    """Whether ``user``'s preferences let a notification of ``kind`` through."""
    key = PREFERENCE_FOR_KIND.get(kind)
    switches = (user.preferences or {}).get("notifications", {})
    return key is None or switches.get(key, True) is not False


def thread_followers(*, root: Message, room: Room, exclude_user_id: int) -> list[User]:
    """Active users who follow ``root``'s thread and may read ``room`` (at most
    limits.NOTIFICATION_RECIPIENTS, the earliest followers first), but ``exclude_user_id``."""
    follows = ThreadFollow.objects.filter(root=root, following=True, user=OuterRef("pk"))
    users = users_who_may_read(User.objects.filter(Exists(follows)).exclude(pk=exclude_user_id), room=room)
    return list(users.order_by("pk")[: limits.NOTIFICATION_RECIPIENTS])


@dataclass(frozen=True)
class ThreadPage:
    """A thread's root and a page of its live replies, oldest first; ``has_more``: replies follow."""

    root: Message
    replies: list[Message]
    has_more: bool


def thread_page(*, user: User, message_id: int, after: int | None = None, limit: int | None = None) -> ThreadPage:
    """The thread of a message the caller may read (the message's root's, when it is a reply): the root
    and its live replies with seq > ``after``, oldest first. MessageNotFound like message_get_for_user."""
    message = message_get_for_user(user=user, message_id=message_id)
    root = message
    if message.thread_root_id is not None:
        root = message_get_for_user(user=user, message_id=message.thread_root_id)
    limit = max(1, min(limit or limits.THREAD_PAGE, limits.THREAD_MAX_PAGE))
    replies = _messages_with_relations(root.room).filter(thread_root=root, is_deleted=False)
    if after is not None:
        replies = replies.filter(seq__gt=after)
    rows = _in_room(root.room, replies.order_by("seq")[: limit + 1])
    return ThreadPage(root, rows[:limit], has_more=len(rows) > limit)


def thread_following(*, user: User, root: Message) -> bool:
    """Whether ``user`` follows ``root``'s thread now."""
    return ThreadFollow.objects.filter(root=root, user=user, following=True).exists()


def message_readers(*, user: User, message_id: int) -> list[User]:
    """Members of the message's room (the caller may read it) whose read position is at or past it
    and who share read receipts (preference ``share_read_receipts``, default true): at most
    limits.READERS, by username. MessageNotFound like message_get_for_user."""
    message = message_get_for_user(user=user, message_id=message_id)
    readers = Membership.objects.filter(room_id=message.room_id, last_read_seq__gte=message.seq, user__is_active=True)
    readers = readers.exclude(user__preferences__share_read_receipts=False)
    users = User.objects.filter(pk__in=readers.values("user_id")).order_by("username")
    return list(users.only("id", "username", "display_name")[: limits.READERS])


def reaction_summary(*, message_id: int) -> list[dict[str, Any]]:
    """A message's reactions as payloads show them, ``[{"emoji", "count", "user_ids"}]``: emoji in the
    order they were first used, the first REACTION_USER_IDS people of each. Two queries, whatever the count."""
    reactions = Reaction.objects.filter(message_id=message_id)
    counts = reactions.values("emoji").annotate(count=Count("*"), first=Min("id")).order_by("first")
    first_users = (
        reactions.annotate(rank=Window(RowNumber(), partition_by=[F("emoji")], order_by=F("id").asc()))
        .filter(rank__lte=limits.REACTION_USER_IDS)
        .order_by("id")
        .values_list("emoji", "user_id")
    )
    user_ids: dict[str, list[int]] = {}
    for emoji, user_id in first_users:
        user_ids.setdefault(emoji, []).append(user_id)
    return [
        {"emoji": row["emoji"], "count": row["count"], "user_ids": user_ids.get(row["emoji"], [])} for row in counts
    ]


def pinned_messages(*, user: User, room_slug: str) -> list[Message]:
    """The pinned messages of a room the caller may read, the most recently pinned first (at most
    PINS_PER_ROOM), in two queries."""
    room = room_get_for_user(user=user, slug=room_slug)
    pinned = _messages_with_relations(room).filter(pinned_at__isnull=False, is_deleted=False)
    return _in_room(room, pinned.order_by("-pinned_at", "-id")[: limits.PINS_PER_ROOM])


def message_versions(*, user: User, message_id: int) -> list[MessageVersion]:
    """The earlier texts of a live message the caller may read, oldest first (the newest EDIT_VERSIONS)."""
    message = message_get_for_user(user=user, message_id=message_id)
    if message.is_deleted:
        raise MessageNotFound()
    newest = MessageVersion.objects.filter(message=message).order_by("-id")[: limits.EDIT_VERSIONS]
    return list(reversed(newest))
