"""Who may post in a room now, read in the statement that allocates the message's seq.

A send used to pay three reads before its insert (the socket's room writable, archived, mute and post
policy). The room row's ``UPDATE ... RETURNING`` that allocates the seq already touches that row, so it
returns those facts too, read under the row's lock; a refusal raises inside the sender's transaction, so
the increment is rolled back and no seq is consumed (history stays gapless). ``check_may_send`` is the
same check as a plain SELECT, for callers that store nothing (and for the over-budget path, so refusals
keep their precedence over SendingTooFast).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from messaging.models import Membership, Room, RoomSanction
from messaging.selectors import RoomNotFound
from messaging.services.errors import RoomArchived
from messaging.services.moderation import Muted, PostingRestricted
from users.models import User

_MODERATING_ROLES = frozenset({Membership.Role.OWNER, Membership.Role.MODERATOR})
# What ``refuse`` raises (a send refused for one of these costs nothing of the sender's budget).
REFUSALS = (RoomNotFound, RoomArchived, Muted, PostingRestricted)


@dataclass(frozen=True)
class PostingState:
    """The room's row as the checks need it, for one user."""

    archived: bool
    post_policy: str
    writer: bool  # room_writable: not banned; an active member, or an active non-guest in a public room
    muted: bool
    member_role: str | None


def _columns(user_id: int) -> tuple[str, list[Any]]:
    """The RETURNING / SELECT list of the checks, correlated to the room row (the rules of
    selectors.room_writable and active_bans, and of moderation's mutes, in SQL)."""
    q = connection.ops.quote_name
    room, sanction = q(Room._meta.db_table), q(RoomSanction._meta.db_table)
    member, user = q(Membership._meta.db_table), q(User._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    until = q("until")
    membership = f"SELECT m.role FROM {member} m WHERE m.room_id = {room}.id AND m.user_id = %s"  # noqa: S608
    banned = (
        f"SELECT 1 FROM {sanction} b WHERE b.room_id = {room}.id AND b.user_id = %s AND b.kind = %s"  # noqa: S608
        f" AND (b.{until} IS NULL OR b.{until} > %s)"
    )
    writer = (
        f"SELECT 1 FROM {user} u WHERE u.id = %s AND u.is_active"  # noqa: S608
        f" AND (EXISTS ({membership}) OR ({room}.kind = %s AND u.role <> %s))"
    )
    muted = (
        f"SELECT 1 FROM {sanction} s WHERE s.room_id = {room}.id AND s.user_id = %s AND s.kind = %s"  # noqa: S608
        f" AND s.{until} > %s"
    )
    sql = (
        f"{room}.archived, {room}.post_policy, (NOT EXISTS ({banned}) AND EXISTS ({writer})),"
        f" EXISTS ({muted}), ({membership})"
    )
    params: list[Any] = [
        user_id,
        RoomSanction.Kind.BAN,
        now,
        user_id,
        user_id,
        Room.Kind.PUBLIC,
        User.Role.GUEST,
        user_id,
        RoomSanction.Kind.MUTE,
        now,
        user_id,
    ]
    return sql, params


def _state(row: tuple[Any, ...]) -> PostingState:
    archived, policy, writer, muted, role = row
    return PostingState(bool(archived), policy, bool(writer), bool(muted), role)


def allocate_seq_if_may_post(*, room: Room, sender: User, check_access: bool) -> int:
    """Reserve ``room``'s next seq for ``sender`` and return it, or raise what ``refuse`` raises.

    Must run in a transaction that a raise rolls back (the seq is then not consumed). One statement
    (UPDATE ... RETURNING, PostgreSQL and SQLite >= 3.35): this runs for every message."""
    table = connection.ops.quote_name(Room._meta.db_table)
    columns, params = _columns(sender.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq, {columns}",  # noqa: S608
            [room.pk, *params],
        )
        row = cursor.fetchone()
    if row is None:
        raise RoomNotFound()  # deleted since the caller found it
    refuse(_state(row[1:]), user=sender, check_access=check_access)
    room.last_seq = row[0]
    return room.last_seq


def check_may_send(*, user: User, room: Room, check_access: bool) -> None:
    """The checks of ``allocate_seq_if_may_post`` in one SELECT, storing nothing."""
    table = connection.ops.quote_name(Room._meta.db_table)
    columns, params = _columns(user.pk)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE id = %s", [*params, room.pk])  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        raise RoomNotFound()
    refuse(_state(row), user=user, check_access=check_access)


def refuse(state: PostingState, *, user: User, check_access: bool) -> None:
    """Raise the first refusal, in the order the checks always had: RoomNotFound (``check_access``: a
    caller whose room may be old, such as a socket's), RoomArchived, Muted, PostingRestricted (sends
    only: in a moderators-only room, workspace admins and moderators and the room's owners and
    moderators post)."""
    if check_access and not state.writer:
        raise RoomNotFound()
    if state.archived:
        raise RoomArchived()
    if state.muted:
        raise Muted()
    if state.post_policy != Room.PostPolicy.MODERATORS:
        return
    if not (user.is_active and (user.is_workspace_moderator or state.member_role in _MODERATING_ROLES)):
        raise PostingRestricted()
