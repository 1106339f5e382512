"""Reads of the integrations domain, access-checked in the query: 404 for what the caller may not see."""

from __future__ import annotations

from django.db.models import QuerySet

from core.validation import is_database_id
from integrations.bots import bot_get_for_owner
from integrations.errors import NotRoomWriter, SubscriptionNotFound, WebhookNotFound
from integrations.models import Delivery, IncomingWebhook, Subscription
from messaging.selectors import room_get_for_user, room_writable
from users.models import User


def webhook_list_for_writer(*, user: User, room_slug: str) -> QuerySet[IncomingWebhook]:
    """A room's webhooks, for those who may write it (404 for rooms they cannot read, 403 for readers)."""
    room = room_get_for_user(user=user, slug=room_slug)
    if not room_writable(user_id=user.pk, room=room):
        raise NotRoomWriter()
    return IncomingWebhook.objects.filter(room=room).select_related("bot", "created_by", "room")


def webhook_get_for_writer(*, user: User, room_slug: str, webhook_id: int) -> IncomingWebhook:
    webhook = webhook_list_for_writer(user=user, room_slug=room_slug).filter(pk=webhook_id).first()
    if webhook is None or not is_database_id(webhook_id):
        raise WebhookNotFound()
    return webhook


def subscription_list_for_owner(*, owner: User, bot_id: int) -> QuerySet[Subscription]:
    bot = bot_get_for_owner(owner=owner, bot_id=bot_id)
    return Subscription.objects.filter(bot=bot).prefetch_related("rooms")


def delivery_list_for_owner(*, owner: User, bot_id: int, subscription_id: int) -> QuerySet[Delivery]:
    """A subscription's delivery log, newest first, for the bot's owner only."""
    subscription = subscription_list_for_owner(owner=owner, bot_id=bot_id).filter(pk=subscription_id).first()
    if subscription is None:
        raise SubscriptionNotFound()
    return Delivery.objects.filter(subscription=subscription).order_by("-id")
