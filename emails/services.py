"""Missed-message emails: noting messages that may need one, sending one per window, unsubscribing.

How it works (learned from Zulip's missed-message emails): every mention or direct message someone is
notified of becomes a ``MissedMessage`` row due CHAT_EMAIL_DELAY later. The first row of a person
opens a window and enqueues one job for its end; rows that arrive while it is open join it. When the
job runs it claims the window's rows into one ``MissedMessageEmail``, drops what the person has read
since (the notification, or the room past the message), and sends one email with the rest, or none.
A message is in at most one window (a unique row per person and message), so it is never emailed twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from core.validation import is_database_id
from emails import compose
from emails.kinds import EMAIL_KINDS
from emails.models import MissedMessage, MissedMessageEmail
from emails.selectors import room_allows_email, still_unread, wants_email
from jobs import Backoff, job
from messaging.models import Membership, Message, Room
from users.models import User
from users.preferences import merge_preferences

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "emails.unsubscribe"
SEND_LOCK = timedelta(minutes=5)  # longer than an SMTP conversation takes, shorter than a retry's wait


def missed_messages_note(*, message: Message, room: Room, recipients: list[tuple[User, str, int]]) -> None:
    """Note ``message`` for the people notified of it, as (user, notification kind, notification id):
    those who want email for that kind get it emailed if it is still unread CHAT_EMAIL_DELAY from now
    (or when their open window ends). Runs in the sender's transaction."""
    wanted = [(user, kind, told) for user, kind, told in recipients if kind in EMAIL_KINDS and wants_email(user, kind)]
    if not wanted:
        return
    memberships = {m.user_id: m for m in Membership.objects.filter(room=room, user__in=[u for u, _, _ in wanted])}
    wanted = [
        (user, kind, told)
        for user, kind, told in wanted
        if room_allows_email(user=user, room=room, membership=memberships.get(user.pk), kind=kind)
    ]
    if not wanted:
        return
    now = timezone.now()
    open_windows = dict(
        MissedMessage.objects.filter(user__in=[user for user, _, _ in wanted], email__isnull=True, due_at__gt=now)
        .values("user")
        .annotate(due=Min("due_at"))
        .values_list("user", "due")
    )
    fresh_due = now + timedelta(seconds=settings.CHAT_EMAIL_DELAY)
    rows = [
        MissedMessage(
            user=user,
            message=message,
            notification_id=notification_id,
            kind=kind,
            due_at=open_windows.get(user.pk, fresh_due),
        )
        for user, kind, notification_id in wanted
    ]
    MissedMessage.objects.bulk_create(rows, ignore_conflicts=True)
    for user, _, _ in wanted:
        if user.pk not in open_windows:
            send_missed_messages.enqueue_at(fresh_due, user_id=user.pk, window=fresh_due.isoformat())


def missed_messages_send(*, user_id: int, window: datetime | None = None) -> list[MissedMessageEmail]:
    """Send the person's window that ends at ``window`` (default: every window ended by now), and any
    earlier email that failed to go out: one email each, with what is still unread, or none. Safe to run
    twice: a claimed row belongs to one email, and one worker sends a given email at a time. An SMTP
    error is raised (the job retries) and the email stays pending."""
    _claim_due(user_id, window or timezone.now())
    handled = []
    for email in MissedMessageEmail.objects.filter(user_id=user_id, outcome=MissedMessageEmail.Outcome.PENDING):
        if _lock(email):
            _deliver(email)
            handled.append(email)
    return handled


def _claim_due(user_id: int, window: datetime) -> None:
    # By the window's own end, not the clock: a worker whose clock lags the server's still finds its rows.
    with transaction.atomic():
        due = MissedMessage.objects.filter(user_id=user_id, email__isnull=True, due_at__lte=window)
        if not due.exists():
            return
        email = MissedMessageEmail.objects.create(user_id=user_id)
        # A concurrent claim (two jobs of one person) updates disjoint rows: each row joins one email.
        if not due.update(email=email):
            email.delete()


def _lock(email: MissedMessageEmail) -> bool:
    now = timezone.now()
    taken = MissedMessageEmail.objects.filter(pk=email.pk, outcome=MissedMessageEmail.Outcome.PENDING).exclude(
        locked_until__gt=now
    )
    return bool(taken.update(locked_until=now + SEND_LOCK))


def _deliver(email: MissedMessageEmail) -> None:
    user = User.objects.get(pk=email.user_id)
    items = list(
        email.missed_messages.select_related("message__room", "message__sender", "notification").order_by("id")
    )
    unread = [item for item in still_unread(items, user) if wants_email(user, item.kind)]
    if not unread:
        wanted = any(wants_email(user, item.kind) for item in items)
        _finish(email, MissedMessageEmail.Outcome.READ_IN_TIME if wanted else MissedMessageEmail.Outcome.NOT_WANTED)
        return
    message = compose.build(user, unread, unsubscribe_url=compose.unsubscribe_url(unsubscribe_token(user)))
    try:
        message.send()
    except Exception:
        MissedMessageEmail.objects.filter(pk=email.pk).update(locked_until=None)  # the retry may take it at once
        raise
    _finish(email, MissedMessageEmail.Outcome.SENT, count=len(unread))


def _finish(email: MissedMessageEmail, outcome: str, *, count: int = 0) -> None:
    sent_at = timezone.now() if outcome == MissedMessageEmail.Outcome.SENT else None
    MissedMessageEmail.objects.filter(pk=email.pk).update(
        outcome=outcome, sent_at=sent_at, message_count=count, locked_until=None
    )
    email.outcome = outcome


def unsubscribe_token(user: User) -> str:
    """A signed, unguessable token naming ``user``, for the one-click unsubscribe link."""
    return signing.dumps({"u": user.pk}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_user(token: Any) -> User | None:
    """The user a token was made for, or None for anything forged, altered or malformed."""
    if not isinstance(token, str) or not 1 <= len(token) <= 200:
        return None
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    user_id = payload.get("u") if isinstance(payload, dict) else None
    if not isinstance(user_id, int) or not is_database_id(user_id):
        return None
    return User.objects.filter(pk=user_id).first()


def email_notifications_disable(*, user: User) -> None:
    """Turn the person's missed-message emails off (``notifications.email``), as the unsubscribe link does."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.preferences = merge_preferences(locked.preferences, {"notifications": {"email": False}})
        locked.save(update_fields=["preferences"])
    user.preferences = locked.preferences


# An SMTP server that is down is tried again for about an hour (1, 2, 4, 8, 16, 32 minutes).
@job(retry=Backoff(attempts=7, base=60, factor=2, cap=1920))
def send_missed_messages(*, user_id: int, window: str | None = None) -> None:
    """The background job: send ``user_id`` the email of their window ending at ``window`` (ISO 8601),
    if anything in it is still unread. (Defined beside the services it runs, which enqueue it.)"""
    missed_messages_send(user_id=user_id, window=datetime.fromisoformat(window) if window else None)
