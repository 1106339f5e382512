"""The bot accounts integrations act as: a bot per incoming webhook, and the bots whose owner subscribes them."""

from __future__ import annotations

import secrets

from core.validation import is_database_id
from integrations.errors import BotNotFound
from messaging.models import Membership, Room
from users.models import User


def bot_get_for_owner(*, owner: User, bot_id: int) -> User:
    """One of ``owner``'s active bots; BotNotFound otherwise (missing and not yours alike)."""
    if not is_database_id(bot_id) or not owner.is_active:
        raise BotNotFound()
    bot = User.objects.filter(pk=bot_id, is_bot=True, bot_owner=owner, is_active=True).first()
    if bot is None:
        raise BotNotFound()
    return bot


def webhook_bot_create(*, owner: User, room: Room, name: str) -> User:
    """A bot that posts for one incoming webhook, owned by its creator, a member of a private room."""
    bot = User(username=f"hook-{secrets.token_hex(6)}", display_name=name)
    if hasattr(bot, "bot_owner"):  # until bot accounts (teams-roles) are merged
        bot.is_bot, bot.bot_owner = True, owner
    bot.set_unusable_password()
    bot.save()
    if not room.is_public:
        Membership.objects.create(room=room, user=bot)
    return bot
