"""The room list (``GET /api/v1/rooms/``) counted and sliced with SQL compiled once (``core.prepared``).

Building room_list_for_user's queryset (nine subqueries) and compiling it twice, for the count and for
the page, was two thirds of a room-list request's CPU. ``room_list_rows`` hands the paginator the same
list as an object it can count and slice, whose queries are the ORM's own, built once per shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, overload

from django.db.models import Count, QuerySet, Value
from django.utils import timezone

from core.prepared import PreparedQuery
from messaging.models import Room
from messaging.selectors import ROOM_LIST_ANNOTATIONS, readable_rooms_of, room_list_for_user, room_list_of
from users.models import User

_ROOM_FIELDS = [field.attname for field in Room._meta.concrete_fields]
# A page's window is part of its SQL (LIMIT, OFFSET): past this many shapes, more are compiled each time.
_MAX_SHAPES = 256


def _room_list_query(shape: tuple[bool, tuple[int, int] | None], *, user_id: int, now: datetime) -> QuerySet[Any]:
    is_guest, window = shape
    readable = readable_rooms_of(user_id=user_id, is_guest=is_guest, now=now)
    if window is None:  # the count: the annotations change no row's presence
        return readable.order_by().values(one=Value(1)).annotate(count=Count("pk")).values_list("count")
    start, stop = window
    return room_list_of(readable, user_id=user_id)[start:stop].values_list(*_ROOM_FIELDS, *ROOM_LIST_ANNOTATIONS)


_ROOM_LIST = PreparedQuery(_room_list_query, max_shapes=_MAX_SHAPES)


class RoomListRows:
    """room_list_for_user as Django's paginator takes it: ``count()`` and slices, the rooms annotated alike."""

    ordered = True  # room_list_for_user orders its rows

    def __init__(self, user: User) -> None:
        self.user = user
        self.now = timezone.now()  # as a queryset built now: the same bans for the count and the page

    def count(self) -> int:
        ((count,),) = _ROOM_LIST.rows((self.user.is_guest, None), user_id=self.user.pk, now=self.now)
        return int(count)

    @overload
    def __getitem__(self, index: int) -> Room: ...
    @overload
    def __getitem__(self, index: slice) -> list[Room]: ...
    def __getitem__(self, index: int | slice) -> Room | list[Room]:
        if not isinstance(index, slice) or index.step is not None or (index.start or 0) < 0 or index.stop is None:
            return list(room_list_for_user(user=self.user))[index]  # not what a paginator asks
        start, stop = index.start or 0, index.stop
        if stop <= start:
            return []
        rows = _ROOM_LIST.rows((self.user.is_guest, (start, stop)), user_id=self.user.pk, now=self.now)
        return [_room(row) for row in rows]


def _room(row: tuple[Any, ...]) -> Room:
    fields = len(_ROOM_FIELDS)
    room = Room.from_db(_ROOM_LIST.using, _ROOM_FIELDS, row[:fields])
    room.__dict__.update(zip(ROOM_LIST_ANNOTATIONS, row[fields:], strict=True))  # as annotate() sets them
    return room


def room_list_rows(*, user: User) -> RoomListRows | QuerySet[Room]:
    """The rooms ``user`` may read, as room_list_for_user lists them, for a paginator."""
    return RoomListRows(user) if user.is_active else room_list_for_user(user=user)
