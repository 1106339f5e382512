"""Writes of the integrations domain: incoming webhooks and outgoing subscriptions.

An incoming webhook posts through ``message_send`` as its own bot, so a message from a CI job is
checked, stored, broadcast and notified exactly as one typed in the page.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import budgets
from core.errors import FieldErrors, InvalidField
from integrations import limits, ssrf
from integrations.bots import bot_get_for_owner, webhook_bot_create
from integrations.errors import (
    InvalidPayload,
    NotRoomWriter,
    NotWebhookManager,
    SubscriptionNotFound,
    WebhookNotFound,
    WebhookTooFast,
)
from integrations.models import IncomingWebhook, Subscription
from integrations.selectors import webhook_get_for_writer
from integrations.signing import new_secret
from messaging.models import Membership, Message, Room
from messaging.selectors import RoomNotFound, room_get_for_user, room_writable
from messaging.services import message_send
from messaging.services.moderation import check_may_post
from users import audit
from users.models import AuditEntry, User


@dataclass(frozen=True)
class IssuedWebhook:
    """A webhook and its secret, which is only known in this answer (the URL carries it)."""

    webhook: IncomingWebhook
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def webhook_create(*, actor: User, room_slug: str, name: object) -> IssuedWebhook:
    """Add an incoming webhook to a room ``actor`` may write; its bot is owned by ``actor``."""
    room = room_get_for_user(user=actor, slug=room_slug)
    if not room_writable(user_id=actor.pk, room=room):
        raise NotRoomWriter()
    check_may_post(user=actor, room=room)  # muted, or not a moderator of an announcement room: 403
    if room.kind == Room.Kind.DIRECT:
        raise InvalidField("Direct conversations cannot have webhooks.")
    name = _check_name(name)
    if IncomingWebhook.objects.filter(room=room).count() >= limits.WEBHOOKS_PER_ROOM:
        raise InvalidField(f"A room has at most {limits.WEBHOOKS_PER_ROOM} webhooks.")
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        bot = webhook_bot_create(owner=actor, room=room, name=name)
        webhook = IncomingWebhook.objects.create(
            room=room, bot=bot, name=name, secret_hash=_hash(secret), created_by=actor
        )
    return IssuedWebhook(webhook=webhook, secret=secret)


def webhook_rotate(*, actor: User, room_slug: str, webhook_id: int) -> IssuedWebhook:
    """Give a webhook a new secret: the old URL stops working at once."""
    webhook = _managed_webhook(actor, room_slug, webhook_id)
    secret = secrets.token_urlsafe(32)
    webhook.secret_hash = _hash(secret)
    webhook.save(update_fields=["secret_hash"])
    return IssuedWebhook(webhook=webhook, secret=secret)


def webhook_delete(*, actor: User, room_slug: str, webhook_id: int) -> None:
    """Remove a webhook; its bot is deactivated (its messages stay, signed by it)."""
    webhook = _managed_webhook(actor, room_slug, webhook_id)
    with transaction.atomic():
        User.objects.filter(pk=webhook.bot_id).update(is_active=False)
        webhook.delete()


def _managed_webhook(actor: User, room_slug: str, webhook_id: int) -> IncomingWebhook:
    webhook = webhook_get_for_writer(user=actor, room_slug=room_slug, webhook_id=webhook_id)
    if webhook.created_by_id == actor.pk or actor.is_staff:
        return webhook
    membership = Membership.objects.filter(room=webhook.room, user=actor).first()
    if membership is None or not membership.can_manage:
        raise NotWebhookManager()
    return webhook


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise FieldErrors({"name": "A name is required."})
    name = name.strip()
    if len(name) > limits.WEBHOOK_NAME:
        raise FieldErrors({"name": f"At most {limits.WEBHOOK_NAME} characters."})
    return name


def webhook_post(*, webhook_id: int, secret: str, payload: object) -> Message:
    """Post ``payload``'s text into the webhook's room as its bot (the same ``message_send`` as REST)."""
    webhook = IncomingWebhook.objects.select_related("room", "bot").filter(pk=webhook_id).first()
    # Compare hashes in constant time even when the id is unknown, so timing tells nothing.
    expected = webhook.secret_hash if webhook is not None else "0" * 64
    if not hmac.compare_digest(expected, _hash(secret)) or webhook is None:
        raise WebhookNotFound()
    text = _payload_text(payload)
    budgets.check("webhook", webhook.pk, rate=settings.CHAT_WEBHOOK_RATE, error=WebhookTooFast)
    try:
        result = message_send(sender=webhook.bot, content=text, room=webhook.room)
    except RoomNotFound:
        raise WebhookNotFound() from None  # the bot was deactivated, or removed from the room
    IncomingWebhook.objects.filter(pk=webhook.pk).update(last_used_at=timezone.now())
    return result.message


def _payload_text(payload: object) -> str:
    if not isinstance(payload, dict):
        raise InvalidPayload()
    given = [key for key in ("text", "content") if key in payload]
    if len(given) != 1:
        raise InvalidPayload()
    text = payload[given[0]]
    if not isinstance(text, str) or not text.strip():
        raise InvalidPayload(f'"{given[0]}" must be a non-empty string.')
    return text


# --- outgoing subscriptions ------------------------------------------------------------------------------


def subscription_create(
    *,
    owner: User,
    bot_id: int,
    url: object,
    events: object,
    rooms: object = None,
    command: object = None,
) -> Subscription:
    """Subscribe one of ``owner``'s bots to events; the answer carries the signing secret."""
    bot = bot_get_for_owner(owner=owner, bot_id=bot_id)
    chosen = _check_events(events)
    errors: dict[str, str] = {}
    target = _check_target(url, errors)
    name = _check_command(command, "command" in chosen, errors)
    room_list = _check_rooms(rooms, owner, bot, errors)
    if errors:
        raise FieldErrors(errors)
    if Subscription.objects.filter(bot=bot).count() >= limits.SUBSCRIPTIONS_PER_BOT:
        raise InvalidField(f"A bot has at most {limits.SUBSCRIPTIONS_PER_BOT} subscriptions.")
    with transaction.atomic():
        subscription = Subscription.objects.create(
            bot=bot,
            url=target,
            on_message="message" in chosen,
            on_mention="mention" in chosen,
            on_command="command" in chosen,
            command=name,
            secret=new_secret(),
        )
        subscription.rooms.set(room_list)
    return subscription


def subscription_delete(*, owner: User, bot_id: int, subscription_id: int) -> None:
    """Remove a subscription and its delivery log; tries still queued find nothing and stop."""
    bot = bot_get_for_owner(owner=owner, bot_id=bot_id)
    deleted, _ = Subscription.objects.filter(pk=subscription_id, bot=bot).delete()
    if not deleted:
        raise SubscriptionNotFound()


def subscription_enable(*, owner: User, bot_id: int, subscription_id: int) -> Subscription:
    """Turn a disabled subscription back on (after its receiver was fixed)."""
    subscription = _owned_subscription(owner, bot_id, subscription_id)
    subscription.is_active = True
    subscription.failures_in_a_row = 0
    subscription.disabled_at = None
    subscription.disabled_reason = ""
    subscription.save(update_fields=["is_active", "failures_in_a_row", "disabled_at", "disabled_reason"])
    return subscription


def subscription_rotate_secret(*, owner: User, bot_id: int, subscription_id: int) -> Subscription:
    """Give one of ``owner``'s bots' subscriptions a new signing secret (``subscription_secret_replace``)."""
    subscription = _owned_subscription(owner, bot_id, subscription_id)
    return subscription_secret_replace(actor=owner, subscription=subscription, via=AuditEntry.Via.REST)


def subscription_secret_replace(*, actor: User, subscription: Subscription, via: str) -> Subscription:
    """A new signing secret for ``subscription``, audited; the instance carries it, for the one answer
    that shows it. Every try from now on signs with it, tries already queued included (they read the
    secret when they run), so the receiver must take the new secret before its next delivery. The
    caller has checked who ``actor`` is: the bot's owner (REST) or an administrator (the admin)."""
    with transaction.atomic():
        subscription.secret = new_secret()
        subscription.save(update_fields=["secret"])
        audit.audit_record(actor=actor, action="subscription.rotate_secret", target=subscription, via=via)
    return subscription


def _owned_subscription(owner: User, bot_id: int, subscription_id: int) -> Subscription:
    """A subscription of one of ``owner``'s bots; SubscriptionNotFound for any other (missing or not theirs)."""
    bot = bot_get_for_owner(owner=owner, bot_id=bot_id)
    subscription = Subscription.objects.filter(pk=subscription_id, bot=bot).first()
    if subscription is None:
        raise SubscriptionNotFound()
    return subscription


def _check_events(events: object) -> list[str]:
    known = set(Subscription.Event.values)
    if not isinstance(events, list) or not events or not all(isinstance(e, str) and e in known for e in events):
        raise FieldErrors({"events": f"A non-empty list of {', '.join(sorted(known))}."})
    if len(set(events)) != len(events):
        raise FieldErrors({"events": "An event is listed twice."})
    return list(events)


def _check_target(url: object, errors: dict[str, str]) -> str:
    if not isinstance(url, str) or not url or len(url) > limits.URL:
        errors["url"] = f"A URL of at most {limits.URL} characters."
        return ""
    try:
        _, host, _, _ = ssrf.check_url(url)
        ssrf.check_literal(host)
    except ssrf.RefusedTarget as refused:
        errors["url"] = refused.detail
    return url


def _check_command(command: object, wanted: bool, errors: dict[str, str]) -> str:
    if not wanted:
        if command not in (None, ""):
            errors["command"] = 'Only with the "command" event.'
        return ""
    if isinstance(command, str):
        command = command.removeprefix("/")
    if not isinstance(command, str) or not limits.COMMAND_NAME.fullmatch(command):
        errors["command"] = "The command's name: lower-case letters, digits, '_' or '-', at most 32."
        return ""
    return command


def _check_rooms(rooms: object, owner: User, bot: User, errors: dict[str, str]) -> list[Room]:
    if rooms is None:
        return []
    if not isinstance(rooms, list) or len(rooms) > limits.ROOMS_PER_SUBSCRIPTION:
        errors["rooms"] = f"A list of at most {limits.ROOMS_PER_SUBSCRIPTION} room slugs."
        return []
    found = []
    for slug in dict.fromkeys(rooms):
        try:
            if not isinstance(slug, str):
                raise RoomNotFound()
            room = room_get_for_user(user=owner, slug=slug)
            room_get_for_user(user=bot, slug=slug)
        except RoomNotFound:
            # The same answer for a missing room and one the owner or the bot may not read.
            errors["rooms"] = f"Unknown room, or one that you or the bot cannot read: {str(slug)[:60]!r}."
            return []
        found.append(room)
    return found
