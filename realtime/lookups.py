"""The database reads of the hub, each one call to the sync thread (the ORM never runs on the loop)."""

from __future__ import annotations

import time
from typing import Any

from channels.db import database_sync_to_async

from messaging import events, limits
from messaging.models import Room, RoomSanction
from messaging.selectors import RoomNotFound, messages_after, room_get_for_user, unread_counts_for_users
from realtime.kernel import encode
from users.models import User


def nothing() -> None:
    """Queued behind any call still running on the sync thread: awaiting it waits for that call."""
    return None


@database_sync_to_async
def room_last_seq(room_id: int) -> int:
    """Where a room is (0 when it is gone)."""
    return Room.objects.filter(pk=room_id).values_list("last_seq", flat=True).first() or 0


@database_sync_to_async
def rooms_last_seq(room_ids: list[int]) -> dict[int, int]:
    """Where each room is, in one query."""
    return dict(Room.objects.filter(pk__in=room_ids).values_list("pk", "last_seq"))


@database_sync_to_async
def fetch_frames(room_id: int, after: int, upto: int) -> list[tuple[int, str, int | None]]:
    """The stored messages of a room in (after, upto], as (seq, encoded frame, sender id)."""
    room = Room.objects.get(pk=room_id)
    rows = [m for m in messages_after(room=room, after=after, limit=upto - after) if m.seq <= upto]
    return [(m.seq, encode(events.message_created(m, room_slug=room.slug)), m.sender_id) for m in rows]


@database_sync_to_async
def unread_counts(room_id: int, user_ids: list[int]) -> dict[int, int]:
    """The room's unread count of each of ``user_ids`` (the one rule, in messaging.selectors)."""
    return unread_counts_for_users(room_id=room_id, user_ids=user_ids)


# Public rooms are readable by every active user, so a burst of connections to one of them (the usual
# case: everyone in general) need not ask the database each time. Only the room's fields are kept, a
# few seconds, and every socket gets its own Room instance.
PUBLIC_ROOM_TTL = 5.0
_public_rooms: dict[str, tuple[dict[str, Any], float]] = {}
_ROOM_FIELDS = ("id", "slug", "name", "topic", "kind", "created_at")


async def readable_room(user: User, slug: str) -> Room | None:
    """The room a socket may follow (None: unknown or not readable), public rooms from a short cache."""
    if len(slug) > limits.ROOM_SLUG:
        return None
    cached = _public_rooms.get(slug)
    # Not for guests (they read only rooms they were added to), nor in a room with bans (checked each time).
    if cached is not None and cached[1] > time.monotonic() and user.is_active and not user.is_guest:
        return Room(**cached[0])
    room = await _readable_room(user, slug)
    if room is not None and room.is_public and not await _has_bans(room.pk):
        fields = {name: getattr(room, name) for name in _ROOM_FIELDS}
        _public_rooms[slug] = (fields, time.monotonic() + PUBLIC_ROOM_TTL)
    return room


@database_sync_to_async
def _has_bans(room_id: int) -> bool:
    return RoomSanction.objects.filter(room_id=room_id, kind=RoomSanction.Kind.BAN).exists()


def forget_rooms() -> None:
    """Empty the cache (tests: room ids do not survive a transactional test's flush)."""
    _public_rooms.clear()


@database_sync_to_async
def _readable_room(user: User, slug: str) -> Room | None:
    try:
        return room_get_for_user(user=user, slug=slug)
    except RoomNotFound:
        return None


@database_sync_to_async
def names_of(user_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Username and display name by id, in one query (users deleted since are absent)."""
    rows = User.objects.filter(pk__in=user_ids).values_list("pk", "username", "display_name")
    return {pk: (username, display_name) for pk, username, display_name in rows}
