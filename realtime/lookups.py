"""The database reads of the hub, each one call to the sync thread (the ORM never runs on the loop)."""

from __future__ import annotations

from channels.db import database_sync_to_async

from messaging import events
from messaging.models import Room
from messaging.selectors import messages_after, unread_counts
from realtime.publish import encode
from users.models import User


def nothing() -> None:
    """Queued behind any call still running on the sync thread: awaiting it waits for that call."""
    return None


@database_sync_to_async
def room_last_seq(room_id: int) -> int:

    return Room.objects.filter(pk=room_id).values_list("last_seq", flat=True).first() or 0


@database_sync_to_async
def rooms_last_seq(room_ids: list[int]) -> dict[int, int]:

    return dict(Room.objects.filter(pk__in=room_ids).values_list("pk", "last_seq"))


@database_sync_to_async
def fetch_frames(room_id: int, after: int, upto: int) -> list[tuple[int, str, int | None]]:

    room = Room.objects.get(pk=room_id)
    rows = [m for m in messages_after(room=room, after=after, limit=upto - after) if m.seq <= upto]
    return [(m.seq, encode(events.message_created(m, room_slug=room.slug)), m.sender_id) for m in rows]


@database_sync_to_async
def unread_count(user_id: int, room_id: int) -> int:

    user = User.objects.get(pk=user_id)
    return unread_counts(user=user, rooms=[Room(pk=room_id)]).get(room_id, 0)


@database_sync_to_async
def names(user_id: int) -> tuple[str, str]:
    """Username and display name (empty for a user deleted since)."""

    return User.objects.filter(pk=user_id).values_list("username", "display_name").first() or ("", "")
