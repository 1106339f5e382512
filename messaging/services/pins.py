"""Pins: a room's writers mark messages to keep at hand; readers list them (selectors.pinned_messages)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from messaging import events, limits
from messaging.models import Message
from messaging.selectors import MessageNotFound, message_get_for_user, room_writable
from messaging.services.errors import ReadOnlyRoom, TooManyPins
from messaging.services.room_manage import room_check_writable
from realtime.kernel import RoomFrame, encode, publish
from users.models import User


def message_pin(*, actor: User, message_id: int, pinned: bool) -> Message:
    """Pin (``pinned``) or unpin a live message of a room the actor may write; a no-op when already so.
    Broadcasts ``message_pinned`` / ``message_unpinned`` when something changed."""
    message = message_get_for_user(user=actor, message_id=message_id)
    if message.is_deleted:
        raise MessageNotFound()
    room_check_writable(room=message.room)
    if not room_writable(user_id=actor.pk, room=message.room):
        raise ReadOnlyRoom()
    with transaction.atomic():
        locked = Message.objects.select_for_update().only("pk", "is_deleted", "pinned_at").get(pk=message.pk)
        if locked.is_deleted:
            raise MessageNotFound()
        if pinned == (locked.pinned_at is not None):
            message.pinned_at = locked.pinned_at
            return message
        if pinned and _pin_count(message) >= limits.PINS_PER_ROOM:
            raise TooManyPins()
        message.pinned_at, message.pinned_by = (timezone.now(), actor) if pinned else (None, None)
        message.save(update_fields=["pinned_at", "pinned_by"])
        frame = events.message_pinned(message, user=actor) if pinned else events.message_unpinned(message, user=actor)
        publish(RoomFrame(room_id=message.room_id, frame=encode(frame)))
    return message


def _pin_count(message: Message) -> int:
    return Message.objects.filter(room_id=message.room_id, pinned_at__isnull=False, is_deleted=False).count()


def message_forget_extras(*, actor: User, message: Message) -> None:
    """What a deleted message loses besides its text and files: reactions, earlier versions and its pin
    (``message_unpinned`` is broadcast when it was pinned). Runs inside the deleting transaction."""
    message.reactions.all().delete()
    message.versions.all().delete()
    was_pinned = message.pinned_at is not None
    message.reaction_summary, message.pinned_at, message.pinned_by = [], None, None
    if was_pinned:
        publish(RoomFrame(room_id=message.room_id, frame=encode(events.message_unpinned(message, user=actor))))
