"""Reactions: one emoji per person per message, added and removed idempotently, over REST and sockets.

The message row keeps the aggregate (``reaction_summary``) that every payload shows; it is rewritten
under the message row's lock whenever a reaction changes, so readers never aggregate.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import transaction

from core import budgets
from core.validation import is_storable_text
from messaging import events, limits
from messaging.models import Message, Reaction
from messaging.selectors import MessageNotFound, message_get_for_user, reaction_summary, room_writable
from messaging.services.errors import InvalidEmoji, ReactingTooFast, ReadOnlyRoom, TooManyReactions
from messaging.services.room_manage import room_check_writable
from realtime.kernel import RoomFrame, encode, publish
from users.models import User

# One emoji as one grapheme: a pictograph (with its presentation selector, skin tone, and tag sequence
# for subdivision flags), a keycap, or a pair of regional indicators (a flag); up to ten joined by ZWJ.
_PICTOGRAPH = (
    "[\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u23ff\u24c2\u25aa-\u27bf\u2934\u2935"
    "\u2b05-\u2b55\u3030\u303d\u3297\u3299\U0001f000-\U0001f1e5\U0001f200-\U0001faff]"
)
_ELEMENT = (
    f"(?:{_PICTOGRAPH}[\ufe0e\ufe0f]?[\U0001f3fb-\U0001f3ff]?(?:[\U000e0020-\U000e007e]+\U000e007f)?"
    "|[0-9#*]\ufe0f?\u20e3"
    "|[\U0001f1e6-\U0001f1ff]{2})"
)
EMOJI = re.compile(f"{_ELEMENT}(?:\u200d{_ELEMENT}){{0,9}}")
SHORT_CODE = re.compile(f":[a-z0-9_+-]{{1,{limits.REACTION_SHORT_CODE}}}:")


def emoji_check(emoji: object) -> str:
    """``emoji`` when it is one emoji or a ``:short_code:`` (lower case); InvalidEmoji otherwise."""
    if not isinstance(emoji, str) or not emoji or len(emoji) > limits.REACTION_EMOJI or not is_storable_text(emoji):
        raise InvalidEmoji()
    if not (EMOJI.fullmatch(emoji) or SHORT_CODE.fullmatch(emoji)):
        raise InvalidEmoji()
    return emoji


def reaction_set(*, actor: User, message_id: int, emoji: str, added: bool, room_id: int | None = None) -> Message:
    """Add (``added``) or remove the actor's ``emoji`` on a message of a room they may read (and, to add,
    write); a no-op when already so. Broadcasts a ``reaction`` frame when something changed.

    ``room_id`` (a socket's room) limits the message to that room. Spends CHAT_REACTION_RATE.
    """
    emoji = emoji_check(emoji)
    message = message_get_for_user(user=actor, message_id=message_id)
    if message.is_deleted or (room_id is not None and message.room_id != room_id):
        raise MessageNotFound()
    room_check_writable(room=message.room)
    if added and not room_writable(user_id=actor.pk, room=message.room):
        raise ReadOnlyRoom()
    budgets.check("reaction", actor.pk, rate=settings.CHAT_REACTION_RATE, error=ReactingTooFast)
    with transaction.atomic():
        locked = Message.objects.select_for_update().only("pk", "is_deleted", "reaction_summary").get(pk=message.pk)
        if locked.is_deleted:
            raise MessageNotFound()
        changed = _add(locked, actor, emoji) if added else _remove(locked, actor, emoji)
        message.reaction_summary = reaction_summary(message_id=message.pk) if changed else locked.reaction_summary
        if changed:
            Message.objects.filter(pk=message.pk).update(reaction_summary=message.reaction_summary)
            frame = events.reaction(message, emoji=emoji, user=actor, added=added)
            publish(RoomFrame(room_id=message.room_id, frame=encode(frame)))
    return message


def _add(message: Message, actor: User, emoji: str) -> bool:
    known = {entry["emoji"] for entry in message.reaction_summary}
    if emoji not in known and len(known) >= limits.REACTIONS_PER_MESSAGE:
        raise TooManyReactions()
    _reaction, created = Reaction.objects.get_or_create(message=message, user=actor, emoji=emoji)
    return created


def _remove(message: Message, actor: User, emoji: str) -> bool:
    deleted, _by_model = Reaction.objects.filter(message=message, user=actor, emoji=emoji).delete()
    return deleted > 0


def reactions_forget_user(*, user: User) -> int:
    """Remove every reaction of ``user`` (who is being deleted) and rewrite the totals of the messages
    they were on, in the caller's transaction; return how many messages changed.

    The cascade of the user's deletion would remove the rows and leave ``reaction_summary`` counting
    them. Each live message's readers get the ``reaction`` frame (``added: false``) a removal sends,
    after commit, so open pages correct their totals as they do for any other removal."""
    reactions = list(Reaction.objects.filter(user=user).values_list("message_id", "emoji"))
    if not reactions:
        return 0
    message_ids = sorted({message_id for message_id, _emoji in reactions})
    with transaction.atomic():
        # Locked in id order, as reaction_set locks one message row, so concurrent reactions wait.
        messages = list(
            Message.objects.select_for_update(of=("self",))
            .select_related("room")
            .filter(pk__in=message_ids)
            .order_by("pk")
        )
        Reaction.objects.filter(user=user).delete()
        for message in messages:
            message.reaction_summary = reaction_summary(message_id=message.pk)
        Message.objects.bulk_update(messages, ["reaction_summary"])
        by_id = {message.pk: message for message in messages}
        for message_id, emoji in reactions:
            if message_id in by_id:
                _announce_removal(by_id[message_id], emoji=emoji, user=user)
    return len(messages)


def _announce_removal(message: Message, *, emoji: str, user: User) -> None:
    if not message.is_deleted:
        frame = events.reaction(message, emoji=emoji, user=user, added=False)
        publish(RoomFrame(room_id=message.room_id, frame=encode(frame)))
