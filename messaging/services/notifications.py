"""Notifications: stored first (so offline users read them over REST), then pushed after commit to
every socket of the recipient."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from datetime import timedelta
from functools import reduce
from typing import Literal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import budgets
from core.errors import InvalidField, PermissionDenied, TooLong
from core.validation import is_database_id, is_storable_text
from emails.services import missed_messages_note
from messaging import events, limits
from messaging.formatting import mentioned_usernames
from messaging.models import Attachment, Membership, Message, Notification, Room
from messaging.selectors import (
    PREFERENCE_FOR_KIND,
    notification_wanted,
    notify_allows,
    notify_memberships,
    thread_followers,
    users_sharing_a_room,
    users_who_may_read,
)
from messaging.services.errors import InvalidRecipients, NotifyingTooFast
from realtime.kernel import UserFrame, encode, publish
from users.models import User


def notify_message_recipients(
    *, message: Message, room: Room, sender: User, attachments: list[Attachment], thread_root: Message | None = None
) -> list[Notification]:
    """Notify the other people of a direct room, users mentioned who may read the room, and, for a
    reply, those who follow its thread (who wrote in it or followed it) and may read the room; each as
    their notification level for the room allows."""
    pending: dict[int, tuple[User, str]] = {}
    if room.kind == Room.Kind.DIRECT:
        kind = Notification.Kind.FILE_SHARED if attachments else Notification.Kind.DIRECT_MESSAGE
        for peer in User.objects.filter(memberships__room=room, is_active=True).exclude(pk=sender.pk):
            pending[peer.pk] = (peer, kind)
    readers = _mentioned_readers(message.content, room, sender)
    for user in readers:
        pending.setdefault(user.pk, (user, Notification.Kind.MENTION))
    if thread_root is not None:
        for user in thread_followers(root=thread_root, room=room, exclude_user_id=sender.pk):
            pending.setdefault(user.pk, (user, Notification.Kind.THREAD_REPLY))
    pending = _by_room_levels(pending, room, mentioned={user.pk for user in readers})
    if not pending:
        return []
    coalesced = _still_unread(pending, room, sender)
    rows = [
        _message_notification(message, room, sender, user, kind)
        for user, kind in pending.values()
        if (user.pk, kind) not in coalesced and notification_wanted(user=user, kind=kind)
    ]
    rows = _within_thread_budget(rows, sender)
    created = _store_and_push(rows)
    # Each of these messages may become a missed-message email; the notification that tells the person
    # about it (a new one, or the unread one it was coalesced into) decides, once read, that it is not.
    told = {(row.recipient_id, row.kind): row.pk for row in created} | coalesced
    missed_messages_note(
        message=message,
        room=room,
        recipients=[(user, kind, told[user.pk, kind]) for user, kind in pending.values() if (user.pk, kind) in told],
    )
    return created


def _within_thread_budget(rows: list[Notification], sender: User) -> list[Notification]:
    """Thread-reply notifications spend the sender's CHAT_NOTIFICATION_RATE budget (one unit per
    recipient, a scope of its own): when it is spent, the reply is still stored and broadcast, and those
    notifications are dropped (the room's unread count tells the rest), as a busy thread would
    otherwise notify its followers on every reply after coalescing."""
    thread_rows = [row for row in rows if row.kind == Notification.Kind.THREAD_REPLY]
    if not thread_rows:
        return rows
    if budgets.spend("thread_notification", sender.pk, rate=settings.CHAT_NOTIFICATION_RATE, cost=len(thread_rows)):
        return [row for row in rows if row.kind != Notification.Kind.THREAD_REPLY]
    return rows


def _by_room_levels(
    pending: dict[int, tuple[User, str]], room: Room, *, mentioned: set[int]
) -> dict[int, tuple[User, str]]:
    """Those of ``pending`` whom their notification level for the room lets hear about this message
    (``notify_allows``): level ``none`` or a mute running, nothing; ``mentions``, a mention only (also in
    a direct room, where it is a mention rather than a direct message)."""
    if not pending:
        return pending
    memberships = notify_memberships(room=room, user_ids=list(pending))
    now = timezone.now()
    kept: dict[int, tuple[User, str]] = {}
    for user_id, (user, kind) in pending.items():
        membership = memberships.get(user_id)
        if not notify_allows(membership=membership, mention=user_id in mentioned, now=now):
            continue
        if membership is not None and membership.notify == Membership.Notify.MENTIONS:
            kind = Notification.Kind.MENTION
        kept[user_id] = (user, kind)
    return kept


def _still_unread(pending: dict[int, tuple[User, str]], room: Room, sender: User) -> dict[tuple[int, str], int]:
    """(recipient, kind) pairs that already have an unread notification from this sender in this room,
    younger than CHAT_NOTIFICATION_COALESCE_WINDOW, with its id: they are not notified again (50 mentions
    in a row make one notification, as Slack and Zulip do; the room's unread count tells the rest).
    Messages of one room are sent one at a time (the room row's lock), so two sends cannot both miss
    each other."""
    window = settings.CHAT_NOTIFICATION_COALESCE_WINDOW
    if not window:
        return {}
    recent = Notification.objects.filter(
        recipient_id__in=list(pending),
        read_at__isnull=True,
        actor=sender,
        kind__in=list(PREFERENCE_FOR_KIND),  # the message notifications
        created_at__gte=timezone.now() - timedelta(seconds=window),
        data__room=room.slug,
    )
    return {
        (recipient, kind): pk for recipient, kind, pk in recent.order_by("id").values_list("recipient_id", "kind", "id")
    }


def _mentioned_readers(content: str, room: Room, sender: User) -> Iterable[User]:
    names = mentioned_usernames(content)
    if not names:
        return []
    by_name = reduce(operator.or_, (Q(username__iexact=name) for name in sorted(names)[: limits.MENTIONS_PER_MESSAGE]))
    users = users_who_may_read(User.objects.filter(by_name).exclude(pk=sender.pk), room=room)
    return list(users.order_by("pk")[: limits.NOTIFICATION_RECIPIENTS])


def _message_notification(message: Message, room: Room, sender: User, user: User, kind: str) -> Notification:
    who = sender.display_name or sender.username
    titles: dict[str, str] = {
        Notification.Kind.MENTION: f"{who} mentioned you in #{room.slug}",
        Notification.Kind.DIRECT_MESSAGE: f"New message from {who}",
        Notification.Kind.FILE_SHARED: f"{who} shared a file with you",
        Notification.Kind.THREAD_REPLY: f"{who} replied in a thread in #{room.slug}",
    }
    data: dict[str, object] = {"room": room.slug, "message_id": message.pk, "seq": message.seq}
    if kind == Notification.Kind.THREAD_REPLY:
        data["thread_root"] = message.thread_root_id
    return Notification(
        recipient=user,
        kind=kind,
        title=_fit_title(titles[kind]),
        body=message.content[:500],
        data=data,
        actor=sender,
    )


def _fit_title(title: str) -> str:
    """Titles built from names can outgrow the column (a 150-character display name, many rooms)."""
    limit = limits.NOTIFICATION_TITLE
    return title if len(title) <= limit else title[: limit - 1] + "…"


def _store_and_push(rows: list[Notification]) -> list[Notification]:
    """Insert in bulk, then push each to its recipient's sockets once the transaction commits."""
    if not rows:
        return []
    with transaction.atomic():
        created = Notification.objects.bulk_create(rows, batch_size=500)
        for notification in created:
            frame = encode(events.notification_created(notification))
            publish(UserFrame(user_id=notification.recipient_id, kind="notifications", frame=frame))
    return created


def notification_rows_push(rows: list[Notification]) -> list[Notification]:
    """Store notifications built elsewhere in the domain (reports) and push them after commit."""
    return _store_and_push(rows)


def notification_send(
    *, sender: User, to: list[int] | Literal["all"], title: str, body: str = ""
) -> list[Notification]:
    """A notification from a user: to given users who share a room with them, or to everyone
    (administrators only). Each recipient spends one unit of the sender's CHAT_NOTIFICATION_RATE."""
    title, body = _check_text(title, body)
    if to == "all":
        # Read the flag afresh: a socket's user object dates from when it connected.
        # ``sender.is_staff`` too: an API token without the admin scope withholds it for its request.
        if not sender.is_staff or not User.objects.filter(pk=sender.pk, is_staff=True, is_active=True).exists():
            raise PermissionDenied("Only administrators may notify everyone.")
        recipients: list[User] = list(User.objects.filter(is_active=True).exclude(pk=sender.pk))
    else:
        recipients = _check_recipients(sender, to)
    # A budget of recipients, not of calls: "all" (administrators only) counts as one announcement.
    _spend_notification_budget(sender, cost=1 if to == "all" and recipients else len(recipients))
    rows = [
        Notification(
            recipient=user,
            kind=Notification.Kind.USER,
            title=title,
            body=body,
            actor=sender,
            data={"from": {"id": sender.pk, "username": sender.username}},
        )
        for user in recipients
    ]
    return _store_and_push(rows)


def _spend_notification_budget(sender: User, *, cost: int) -> None:
    rate = settings.CHAT_NOTIFICATION_RATE
    most = budgets.rate_of(rate).count
    if cost > most:
        raise NotifyingTooFast(f"At most {most} recipients per {rate.split('/', 1)[1]} (CHAT_NOTIFICATION_RATE).")
    budgets.check("notification", sender.pk, rate=rate, cost=cost, error=NotifyingTooFast)


def _check_text(title: object, body: object) -> tuple[str, str]:
    if not isinstance(title, str) or not title.strip():
        raise InvalidField("title must be a non-empty string.")
    if not isinstance(body, str):
        raise InvalidField("body must be a string.")
    if not is_storable_text(title) or not is_storable_text(body):
        raise InvalidField("title and body must be valid text (no NUL characters or lone surrogates).")
    if len(title) > limits.NOTIFICATION_TITLE or len(body) > limits.NOTIFICATION_BODY:
        raise TooLong(
            f"title is limited to {limits.NOTIFICATION_TITLE} characters and body to {limits.NOTIFICATION_BODY}."
        )
    return title.strip(), body


def _check_recipients(sender: User, to: object) -> list[User]:
    if (
        not isinstance(to, list)
        or not 0 < len(to) <= limits.NOTIFICATION_RECIPIENTS
        or not all(is_database_id(i) for i in to)
    ):
        raise InvalidField(f'to must be "all" or a list of 1 to {limits.NOTIFICATION_RECIPIENTS} user ids.')
    wanted = set(to) - {sender.pk}
    recipients = users_sharing_a_room(user=sender, user_ids=sorted(wanted))
    unknown = sorted(wanted - {user.pk for user in recipients})
    if unknown:
        raise InvalidRecipients("Unknown recipients, or recipients who share no room with you.", extra={"ids": unknown})
    return recipients


def notifications_mark_read(*, user: User, ids: list[int] | None = None, everything: bool = False) -> int:
    """Mark the caller's notifications read (given ids, or all); other devices are told."""
    if not everything and (not isinstance(ids, list) or not ids or not all(is_database_id(i) for i in ids)):
        raise InvalidField('Send {"ids": [notification ids]} or {"all": true}.')
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if not everything and ids:
        unread = unread.filter(pk__in=ids[: limits.IDS_PER_REQUEST])
    with transaction.atomic():
        changed = unread.update(read_at=timezone.now())
        if changed:
            frame = encode(events.notifications_read(None if everything else ids))
            publish(UserFrame(user_id=user.pk, kind="notifications", frame=frame))
    return changed


def notify_purge(*, actor: User | None, rooms: list[Room] | None) -> list[Notification]:
    """Tell members of purged rooms (None: every room) that history was deleted, each of the purged
    rooms they are a member of only: a purge by age or by message ids spans rooms, and a list of all of
    them would name other people's private rooms and direct messages."""
    memberships = Membership.objects.filter(user__is_active=True)
    if rooms is not None:
        memberships = memberships.filter(room__in=rooms)
    if actor is not None:
        memberships = memberships.exclude(user=actor)
    if rooms is None:
        user_ids = set(memberships.values_list("user_id", flat=True))
        return _store_and_push([_purge_notification(user_id, actor, None) for user_id in sorted(user_ids)])
    rooms_of: dict[int, set[int]] = {}
    for user_id, room_id in memberships.values_list("user_id", "room_id"):
        rooms_of.setdefault(user_id, set()).add(room_id)
    rows = [
        _purge_notification(user_id, actor, [room for room in rooms if room.pk in their_rooms])
        for user_id, their_rooms in sorted(rooms_of.items())
    ]
    return _store_and_push(rows)


def _purge_notification(recipient_id: int, actor: User | None, rooms: list[Room] | None) -> Notification:
    where = ", ".join(f"#{room.slug}" for room in rooms) if rooms else "every room"
    return Notification(
        recipient_id=recipient_id,
        kind=Notification.Kind.MESSAGES_PURGED,
        title=_fit_title(f"Messages deleted in {where}"),
        data={"rooms": [room.slug for room in rooms] if rooms else None},
        actor=actor,
    )
