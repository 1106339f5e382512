"""Reading what a missed-message email may contain: who wants email, and what is still unread."""

from __future__ import annotations

from collections.abc import Iterable

from emails.models import MissedMessage
from messaging.models import Membership, Notification, Room
from messaging.selectors import notification_wanted, notify_allows, readable_rooms
from users.models import User


def wants_email(user: User, kind: str) -> bool:
    """The person's preferences allow a missed-message email for ``kind`` (users/preferences.py:
    ``notifications.email``, and the kind's own switch such as ``notifications.mentions``)."""
    if not user.is_active or not user.email:
        return False
    switches = (user.preferences or {}).get("notifications", {})
    return switches.get("email", True) is not False and notification_wanted(user=user, kind=kind)


def room_allows_email(*, user: User, room: Room, membership: Membership | None, kind: str | None = None) -> bool:
    """Whether the member's notification level for the room lets its messages be emailed now
    (messaging.selectors.notify_allows, the rule notifications follow too): not at level ``none``, not
    while muted, and at level ``mentions`` only a mention (``kind``; None: the kind is not known, so
    only what any kind may be)."""
    return notify_allows(membership=membership, mention=kind == Notification.Kind.MENTION)


def still_unread(items: Iterable[MissedMessage], user: User) -> list[MissedMessage]:
    """The items the person has not seen in time: the message still there and readable, its notification
    unread, and its room not read past it."""
    items = list(items)
    rooms = {item.message.room_id: item.message.room for item in items}
    memberships = {m.room_id: m for m in Membership.objects.filter(user=user, room_id__in=list(rooms))}
    # Removed, banned or made a guest since: a room it may not read any more is not emailed about.
    readable = set(readable_rooms(user=user).filter(pk__in=list(rooms)).values_list("pk", flat=True))
    return [
        item
        for item in items
        if item.message.room_id in readable and _unseen(item, memberships.get(item.message.room_id), user)
    ]


def _unseen(item: MissedMessage, membership: Membership | None, user: User) -> bool:
    message = item.message
    if message.is_deleted or item.notification.read_at is not None:
        return False
    if membership is not None and membership.last_read_seq >= message.seq:
        return False
    return room_allows_email(user=user, room=message.room, membership=membership, kind=item.kind)
