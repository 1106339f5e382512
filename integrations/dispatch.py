"""Which subscriptions hear of a new message: the receiver of messaging's ``message_stored`` signal.

It runs inside the transaction that stores the message: each delivery is a row and a job written in that
transaction, so a delivery exists exactly when its message does and no worker starts before the commit.
One query finds the candidate subscriptions (one more for which of their bots may read the room), after a
plain one that says whether any active subscription could want the message: an ordinary message in a
workspace without bots costs that one cheap query.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Any

from django.db import connection
from django.db.models import Q

from integrations import limits
from integrations.deliveries import deliver
from integrations.models import Delivery, Subscription
from messaging import events
from messaging.formatting import mentioned_usernames
from messaging.models import Attachment, Message, Room
from messaging.selectors import users_who_may_read
from users.models import User

Event = Subscription.Event


def on_message_stored(*, message: Message, room: Room, attachments: list[Attachment] | None = None, **_: Any) -> None:
    """Create a delivery (and its job) for each subscription that wants ``message``."""
    sender = message.sender
    # Bots never trigger bots (no reply loops); a webhook's or a bot's message reaches people only.
    if sender is None or sender.is_bot:
        return
    command = limits.COMMAND_LINE.fullmatch(message.content.strip())
    mentioned = sorted(mentioned_usernames(message.content))[:20]
    if not _any_listening(mentions=bool(mentioned), command=bool(command)):
        return
    wanted = Q(on_message=True)
    if mentioned:
        wanted |= Q(on_mention=True) & reduce(operator.or_, (Q(bot__username__iexact=name) for name in mentioned))
    if command:
        wanted |= Q(on_command=True, command=command.group(1))
    candidates = list(
        Subscription.objects.filter(wanted, Q(rooms=room) | Q(rooms__isnull=True), is_active=True, bot__is_active=True)
        .exclude(bot=sender)
        .select_related("bot")
        .distinct()
    )
    if not candidates:
        return
    readers = _bots_reading(room, {s.bot_id for s in candidates})
    names = set(mentioned)
    payload = _message_part(message, room, attachments)
    for subscription in candidates:
        if subscription.bot_id not in readers:
            continue
        event = _event_for(subscription, names, command.group(1) if command else None)
        if event is not None:
            _enqueue(subscription, event, message, room, payload, command)


def _any_listening(*, mentions: bool, command: bool) -> bool:
    """Whether any active subscription could want this message at all: one plain query of a small table,
    written without the ORM because it runs for every message, and most workspaces (and most messages)
    have no subscription that wants them (building the candidates' query costs ~30x running this one)."""
    table = connection.ops.quote_name(Subscription._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE is_active AND (on_message OR (on_mention AND %s)"  # noqa: S608
            " OR (on_command AND %s)) LIMIT 1",
            [mentions, command],
        )
        return cursor.fetchone() is not None


def _bots_reading(room: Room, bot_ids: set[int]) -> set[int]:
    """The bots that may read ``room`` as anyone may (a private room's members; never a bot banned from
    the room): a delivery carries the message to the bot owner's URL."""
    bots = users_who_may_read(User.objects.filter(pk__in=bot_ids), room=room)
    return set(bots.values_list("pk", flat=True))


def _event_for(subscription: Subscription, mentioned: set[str], command: str | None) -> str | None:
    """The one event a message is for a subscription: a command before a mention before a plain message."""
    if subscription.on_command and command == subscription.command:
        return Event.COMMAND
    if subscription.on_mention and subscription.bot.username.lower() in mentioned:
        return Event.MENTION
    return Event.MESSAGE if subscription.on_message else None


def _message_part(message: Message, room: Room, attachments: list[Attachment] | None) -> dict[str, Any]:
    return {
        "room": {"id": room.pk, "slug": room.slug, "name": room.name},
        "message": events.message_payload(message, room_slug=room.slug, attachments=attachments or []),
    }


def _enqueue(
    subscription: Subscription, event: str, message: Message, room: Room, part: dict[str, Any], command: Any
) -> None:
    bot = subscription.bot
    payload: dict[str, Any] = {
        "event": event,
        "subscription": subscription.pk,
        "bot": {"id": bot.pk, "username": bot.username},
        **part,
        "command": {"name": command.group(1), "args": (command.group(2) or "").strip()}
        if event == Event.COMMAND
        else None,
    }
    delivery = Delivery.objects.create(
        subscription=subscription, event=event, room=room, message=message, payload=payload
    )
    deliver.enqueue(delivery_id=delivery.pk)
