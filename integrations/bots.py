"""The bot accounts integrations act as (users.api_tokens owns bots): a bot per incoming webhook, and
the bots whose owner subscribes them to events."""

from __future__ import annotations

import secrets

from messaging.models import Membership, Room
from users.api_tokens import BotNotFound, bot_create, bot_get
from users.models import User


def bot_get_for_owner(*, owner: User, bot_id: int) -> User:
    """One of ``owner``'s active bots; BotNotFound otherwise (missing, a person and not yours alike)."""
    bot = bot_get(actor=owner, bot_id=bot_id)
    if not bot.is_active or not owner.is_active:
        raise BotNotFound()
    return bot


def webhook_bot_create(*, owner: User, room: Room, name: str) -> User:
    """A bot that posts for one incoming webhook, owned (and counted among the bots) of its creator, a
    member of a private room."""
    bot = bot_create(actor=owner, username=f"hook-{secrets.token_hex(6)}", display_name=name)
    if not room.is_public:
        Membership.objects.create(room=room, user=bot)
    return bot
