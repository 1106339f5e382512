"""Threads: a reply joins the thread of the message it answers, and the thread's root keeps its counters.

The root (the top of a ``reply_to`` chain) carries ``reply_count`` (live replies), ``last_reply_at`` and
``thread_participants`` (the first repliers' ids, bounded), denormalized so that history pages show them
without a query per message. Every change happens under the root row's lock (``FOR NO KEY UPDATE``,
taken before the reply is inserted, so the reply's foreign-key check never waits on it): a send locks
the room row first (its seq) and then the root; a deletion locks only the root and recounts, so
concurrent replies and deletions on PostgreSQL leave the counters exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Min

from core import budgets
from core.validation import is_database_id
from messaging import events, limits
from messaging.models import Message, Room, ThreadFollow
from messaging.selectors import message_get_for_user
from messaging.services.errors import FollowingTooFast, InvalidReplyTo
from realtime.kernel import RoomFrame, encode, publish
from users.models import User


def thread_root_lock(*, room: Room, reply_to_id: object) -> tuple[Message, Message]:
    """The message answered and its thread's root, the root locked until commit. Runs in the sender's
    transaction, after the room's seq was allocated (so replies of a room are stored one at a time).

    InvalidReplyTo when ``reply_to_id`` is not a message of ``room`` (the sender may write ``room``, so
    a message of any other room, readable or not, is refused alike)."""
    reply_to = None
    if isinstance(reply_to_id, int) and is_database_id(reply_to_id):
        reply_to = Message.objects.filter(room=room, pk=reply_to_id).first()
    if reply_to is None:
        raise InvalidReplyTo()
    root_id = reply_to.thread_root_id or reply_to.pk
    root = Message.objects.select_for_update(no_key=True).filter(pk=root_id).first()
    if root is None:  # pragma: no cover - the root cannot vanish while its room row is locked, but purges
        raise InvalidReplyTo()
    return reply_to, root


def thread_reply_added(*, root: Message, reply: Message) -> Message:
    """Count ``reply`` on its (locked) ``root`` and make its author, and the root's, follow the thread."""
    participants = list(root.thread_participants or [])
    sender_id = reply.sender_id
    if sender_id is not None and sender_id not in participants and len(participants) < limits.THREAD_PARTICIPANTS:
        participants.append(sender_id)
    root.reply_count += 1
    root.last_reply_at = reply.created_at
    root.thread_participants = participants
    root.save(update_fields=["reply_count", "last_reply_at", "thread_participants"])
    followers = sorted({user_id for user_id in (reply.sender_id, root.sender_id) if user_id is not None})
    ThreadFollow.objects.bulk_create(
        [ThreadFollow(root=root, user_id=user_id) for user_id in followers],
        ignore_conflicts=True,  # an earlier follow, or an explicit unfollow, stays as it is
    )
    return root


def thread_recount(*, root_id: int) -> Message | None:
    """Recount a root's live replies under its lock (a reply was deleted or purged); None if it is gone."""
    root = (
        Message.objects.select_for_update(no_key=True, of=("self",)).select_related("room").filter(pk=root_id).first()
    )
    if root is None:
        return None
    live = Message.objects.filter(thread_root_id=root_id, is_deleted=False)
    totals = live.aggregate(count=Count("pk"), last=Max("created_at"))
    first_replies = (
        live.exclude(sender=None)
        .values("sender_id")
        .annotate(first=Min("seq"))
        .order_by("first")
        .values_list("sender_id", flat=True)[: limits.THREAD_PARTICIPANTS]
    )
    root.reply_count = totals["count"]
    last: datetime | None = totals["last"]
    root.last_reply_at = last
    root.thread_participants = list(first_replies)
    root.save(update_fields=["reply_count", "last_reply_at", "thread_participants"])
    return root


def thread_updated_publish(root: Message, *, room_id: int, room_slug: str) -> None:
    """Tell the room's sockets a root's new counters (after commit; one frame for every follower)."""
    frame = encode(events.thread_updated(root, room_slug=room_slug))
    publish(RoomFrame(room_id=room_id, frame=frame))


def threads_recount(*, root_ids: Iterable[int]) -> None:
    """Recount roots whose replies were purged, and tell their rooms (each root in its own transaction)."""
    for root_id in sorted(set(root_ids)):
        with transaction.atomic():
            root = thread_recount(root_id=root_id)
            if root is not None:
                thread_updated_publish(root, room_id=root.room_id, room_slug=root.room.slug)


def thread_follow(*, user: User, message_id: int, following: bool) -> tuple[Message, bool]:
    """Follow (or stop following) the thread of a message the user may read; the thread is its root's.

    Returns the root and the new state. MessageNotFound for a message the user may not read."""
    message = message_get_for_user(user=user, message_id=message_id)
    root_id = message.thread_root_id or message.pk
    root = message if root_id == message.pk else message_get_for_user(user=user, message_id=root_id)
    budgets.check("thread_follow", user.pk, rate=settings.CHAT_MESSAGE_RATE, error=FollowingTooFast)
    ThreadFollow.objects.update_or_create(root=root, user=user, defaults={"following": following})
    return root, following
