"""Test factories of the integrations app."""

from __future__ import annotations

from integrations.models import Delivery, Subscription
from integrations.services import webhook_create
from integrations.tests.conftest import make_bot
from messaging.tests.factories import general, send
from users.models import User


def one_of_each(owner: User) -> dict[str, str]:
    """A webhook in #general, a bot of ``owner`` with a subscription and one delivery; the values of the
    README's path placeholders that name them (``{bot_id}``, ``{id}``)."""
    webhook_create(actor=owner, room_slug="general", name="CI")
    bot = make_bot(owner, "lister")
    subscription = Subscription.objects.create(bot=bot, url="https://example.com/", on_message=True, secret="s")
    message = send(owner, "hello", room=general())
    Delivery.objects.create(subscription=subscription, event="message", room=general(), message=message, payload={})
    return {"{bot_id}": str(bot.pk), "{id}": str(subscription.pk)}
