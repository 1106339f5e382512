"""Rooms: creation, membership, direct rooms (two people or a group), read state, notification levels."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from core.errors import InvalidField, NotFound, PermissionDenied, TooLong
from core.validation import is_database_id, is_storable_text
from messaging import events, limits
from messaging.models import GENERAL_ROOM_SLUG, Membership, Room
from messaging.selectors import RoomNotFound, active_bans, membership_get, unread_counts
from messaging.services.errors import InvalidRoom, LastOwner, NotRoomManager, SlugTaken, UserBanned
from messaging.services.room_manage import room_announce
from realtime.kernel import CloseUserSockets, TrackRoom, UnreadChanged, closecodes, publish
from users import audit
from users.models import AuditEntry, User
from users.selectors import visible_user_ids

CREATABLE_KINDS = {Room.Kind.PUBLIC, Room.Kind.PRIVATE}
# Direct rooms are "dm-<id>-<id>": no other room may look like one.
DIRECT_SLUG_PREFIX = "dm-"
SLUG = re.compile(r"[a-z0-9_-]{1,64}")


def room_create(*, actor: User, name: str, slug: str = "", kind: str = Room.Kind.PUBLIC, topic: str = "") -> Room:
    """Create a public or private room; the creator becomes its owner. Guests cannot create rooms."""
    if actor.is_guest:
        raise PermissionDenied("Guests cannot create rooms.")
    if not is_storable_text(name) or not is_storable_text(topic or ""):
        raise InvalidField("name and topic must be text without NUL characters or lone surrogates.")
    name = name.strip()
    if not name or len(name) > limits.ROOM_NAME:
        raise InvalidField(f"name must be 1 to {limits.ROOM_NAME} characters.")
    room_kind_check(kind=kind)
    if len(topic or "") > limits.ROOM_TOPIC:
        raise TooLong(f"topic is limited to {limits.ROOM_TOPIC} characters.")
    slug = _free_slug(room_slug_check(slug=slug or _slug_from_name(name)), explicit=bool(slug))
    try:
        with transaction.atomic():
            room = Room.objects.create(slug=slug, name=name, kind=kind, topic=topic or "", created_by=actor)
            Membership.objects.create(room=room, user=actor, role=Membership.Role.OWNER)
            room_announce(room=room, build=events.room_created)
    except IntegrityError:
        raise SlugTaken("A room with this slug already exists.") from None
    return room


def room_slug_check(*, slug: str, room: Room | None = None) -> str:
    """The slug to store for a new room (``room`` None) or as ``room``'s new slug, trimmed and lower
    case; InvalidInput unless ASCII letters, digits, - or _, at most 64, and not starting with dm-.
    ``general`` (the default room) and direct rooms keep their slugs. Whether it is free is not checked."""
    if room is not None and slug == room.slug:
        return slug  # unchanged: kept as stored, even if stored before these rules applied
    slug = (slug or "").strip().lower()
    if room is not None and slug == room.slug:
        return slug
    if room is not None and (room.slug == GENERAL_ROOM_SLUG or room.kind == Room.Kind.DIRECT):
        raise InvalidField(f"The slug of {room.slug} cannot change.")
    if not SLUG.fullmatch(slug) or slug.startswith(DIRECT_SLUG_PREFIX):
        raise InvalidField("slug must be letters, digits, - or _, at most 64, not starting with dm-.")
    return slug


def room_kind_check(*, kind: str, room: Room | None = None) -> None:
    """InvalidInput unless a new room (``room`` None) may have ``kind``, or ``room`` may change to it.

    Rooms are created public or private; direct rooms are made for their two people by
    direct_room_get_or_create (with the key the database requires of them), so no room becomes one and
    none stops being one. A public room does not become private: people who read it without being
    members would keep their open sockets on it. A private room may become public.
    """
    if room is None:
        if kind not in CREATABLE_KINDS:
            raise InvalidField("kind must be public or private (use /rooms/direct/ for direct messages).")
        return
    if kind == room.kind:
        return
    if Room.Kind.DIRECT in (kind, room.kind):
        raise InvalidField("A room cannot become a direct message, nor stop being one.")
    if room.kind == Room.Kind.PUBLIC:
        raise InvalidField("A public room cannot become private: create a private room and invite its members.")


def _slug_from_name(name: str) -> str:
    """A valid slug for any name: names with no ASCII letters or digits, or that would look like a
    direct room's slug, still get one."""
    base = slugify(name)[:55].strip("-_")
    if not base or base.startswith(DIRECT_SLUG_PREFIX):
        base = f"room-{base}".rstrip("-")
    return base


def _free_slug(base: str, *, explicit: bool) -> str:
    if not Room.objects.filter(slug=base).exists():
        return base
    if explicit:
        raise SlugTaken("A room with this slug already exists.")
    for number in range(2, 1000):
        candidate = f"{base[:58]}-{number}"
        if not Room.objects.filter(slug=candidate).exists():
            return candidate
    raise SlugTaken("Choose another name.")


def room_join(*, actor: User, room: Room) -> Membership:
    """Join a public room (idempotent); private rooms need an invitation from a manager."""
    existing = membership_get(user=actor, room=room)
    if existing:
        return existing
    if not room.is_public or actor.is_guest or active_bans(user_id=actor.pk, room=room).exists():
        raise RoomNotFound()
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            room=room, user=actor, defaults={"last_read_seq": room.last_seq}
        )
        if created:
            publish(TrackRoom(user_id=actor.pk, room_id=room.pk, room_slug=room.slug))
    return membership


def room_add_member(*, actor: User, room: Room, user: User) -> Membership:
    """Add ``user`` to a room: its managers (owner, admins) or site administrators; public rooms also
    let anyone add someone (they could join by themselves anyway)."""
    if room.kind == Room.Kind.DIRECT:
        raise InvalidRoom("Direct rooms have exactly two members.")
    _check_manager(actor, room, allow_public=True)
    if not user.is_active:
        raise NotFound("No such user.")
    if active_bans(user_id=user.pk, room=room).exists():
        raise UserBanned()
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(room=room, user=user)
        if created:
            publish(TrackRoom(user_id=user.pk, room_id=room.pk, room_slug=room.slug))
            if not room.is_public:
                # The private room appears for its new member, live, as a new room would.
                room_announce(room=room, build=events.room_created, only={user.pk})
    return membership


def room_remove_member(*, actor: User, room: Room, user: User, via: str = AuditEntry.Via.REST) -> None:
    """Leave a room yourself, or remove someone as a manager. The last owner cannot leave a
    private room with other members in it."""
    if room.kind == Room.Kind.DIRECT:
        raise InvalidRoom("You cannot leave a direct conversation.")
    if user.pk != actor.pk:
        _check_manager(actor, room, allow_public=False)
    membership = membership_get(user=user, room=room)
    if membership is None:
        raise NotFound("Not a member of this room.")
    if membership.role == Membership.Role.OWNER and not room.is_public and _is_last_owner_with_company(room):
        raise LastOwner("Hand the room over to another owner before leaving.")
    with transaction.atomic():
        membership.delete()
        if user.pk != actor.pk:
            audit.audit_record(actor=actor, action="room.remove_member", target=user, room=room, via=via)
        if not room.is_public:
            # Whoever leaves a private room stops reading it at once, on every device.
            publish(CloseUserSockets(user_id=user.pk, code=closecodes.ROOM_UNREADABLE, room_id=room.pk))


def _is_last_owner_with_company(room: Room) -> bool:
    owners = Membership.objects.filter(room=room, role=Membership.Role.OWNER).count()
    return owners == 1 and room.memberships.count() > 1


def _check_manager(actor: User, room: Room, *, allow_public: bool) -> None:
    if actor.is_workspace_moderator or (allow_public and room.is_public and not actor.is_guest):
        return
    membership = membership_get(user=actor, room=room)
    if membership is None or not membership.can_manage:
        raise NotRoomManager()


def direct_room_get_or_create(*, actor: User, other: User) -> tuple[Room, bool]:
    """The one direct room of two users (created on first use): ``(room, created)``."""
    return direct_room_for(actor=actor, others=[other])


def direct_room_with(*, actor: User, user_ids: Sequence[object]) -> tuple[Room, bool]:
    """The one direct room of the caller and the users ``user_ids`` (1 to DIRECT_ROOM_OTHERS ids of
    other active users; NotFound for an unknown or inactive one): ``(room, created)``."""
    if not 1 <= len(user_ids) <= limits.DIRECT_ROOM_OTHERS or not all(is_database_id(i) for i in user_ids):
        raise InvalidField(f"users must be a list of 1 to {limits.DIRECT_ROOM_OTHERS} user ids.")
    ids = cast(list[int], list(user_ids))
    users = {user.pk: user for user in User.objects.filter(pk__in=ids)}
    if any(i not in users for i in ids):
        raise NotFound("No such user.")
    return direct_room_for(actor=actor, others=[users[i] for i in ids])


def direct_room_for(*, actor: User, others: Sequence[User]) -> tuple[Room, bool]:
    """The one direct room of ``actor`` and ``others`` (1 to DIRECT_ROOM_OTHERS other active people),
    created on first use, whatever the order they are named in: ``(room, created)``. Its key is the
    sorted ids of its people, unique in the database, so two concurrent first messages make one room."""
    ids = [user.pk for user in others]
    if actor.pk in ids:
        raise InvalidField("A direct conversation is with other people: you are added yourself.")
    if not 1 <= len(ids) <= limits.DIRECT_ROOM_OTHERS or len(set(ids)) != len(ids):
        raise InvalidField(f"A direct conversation needs 1 to {limits.DIRECT_ROOM_OTHERS} other people, each once.")
    if not all(user.is_active for user in others) or visible_user_ids(actor=actor, ids=ids) != set(ids):
        # A guest opens conversations only with people who share a room with them; the others are, to
        # them, as unknown as ids that do not exist.
        raise NotFound("No such user.")
    people = sorted([actor.pk, *ids])
    key = ":".join(str(pk) for pk in people)
    existing = Room.objects.filter(direct_key=key).first()
    if existing:
        return existing, False
    if len(people) == 2:
        slug, name = f"dm-{people[0]}-{people[1]}", "Direct message"
    else:
        # A group's slug does not grow with its ids (slugs are at most 64 characters).
        slug = f"{DIRECT_SLUG_PREFIX}g-{hashlib.sha256(key.encode()).hexdigest()[:24]}"
        name = _group_name(sorted(user.username for user in [actor, *others]))
    try:
        with transaction.atomic():
            room = Room.objects.create(slug=slug, name=name, kind=Room.Kind.DIRECT, direct_key=key, created_by=actor)
            Membership.objects.bulk_create([Membership(room=room, user_id=pk) for pk in people])
            for user_id in people:
                publish(TrackRoom(user_id=user_id, room_id=room.pk, room_slug=room.slug))
            room_announce(room=room, build=events.room_created)
    except IntegrityError:
        return Room.objects.get(direct_key=key), False
    return room, True


def _group_name(usernames: list[str]) -> str:
    """A group conversation's name: its people's usernames ("alice, bob, carol"), cut to the column's length."""
    name = ", ".join(usernames)
    return name if len(name) <= limits.ROOM_NAME else name[: limits.ROOM_NAME - 1] + "…"


def room_mark_read(*, actor: User, room: Room, seq: int | None = None) -> Membership:
    """Advance the caller's read state to ``seq`` (default: the newest message); never backwards."""
    if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool) or seq < 0):
        raise InvalidField("seq must be a non-negative integer.")
    room.refresh_from_db(fields=["last_seq"])
    target = room.last_seq if seq is None else min(seq, room.last_seq)
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            room=room, user=actor, defaults={"last_read_seq": target}
        )
        if not created and target > membership.last_read_seq:
            Membership.objects.filter(pk=membership.pk, last_read_seq__lt=target).update(last_read_seq=target)
            membership.last_read_seq = target
        if created:
            publish(TrackRoom(user_id=actor.pk, room_id=room.pk, room_slug=room.slug))
        remaining = unread_counts(user=actor, rooms=[room]).get(room.pk, 0)
        # Every device of the user learns the new count (and resets its own counter to it).
        publish(UnreadChanged(user_id=actor.pk, room_id=room.pk, room_slug=room.slug, count=remaining))
    return membership


# --- a member's notification level -------------------------------------------------------------------


def _check_notify(value: object) -> str:
    if value not in Membership.Notify.values:
        raise InvalidField(f"notify must be one of {', '.join(Membership.Notify.values)}.")
    return str(value)


def _check_muted_until(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise InvalidField("muted_until must be a date and time with its time zone, or null.")
    if value > timezone.now() + limits.LONGEST_MUTE:
        raise InvalidField(
            f"muted_until is at most {limits.LONGEST_MUTE.days} days ahead; set notify to none to silence a room."
        )
    return value


MEMBERSHIP_SETTINGS: dict[str, Callable[[object], Any]] = {"notify": _check_notify, "muted_until": _check_muted_until}


def membership_update(*, actor: User, room: Room, changes: Mapping[str, Any]) -> Membership:
    """Change the caller's own settings in a room they may read: ``notify`` (all, mentions, none) and
    ``muted_until`` (a time, or None to unmute). Joining a public room creates the membership first."""
    unknown = sorted(set(changes) - set(MEMBERSHIP_SETTINGS))
    if unknown or not changes:
        raise InvalidField(f"Send notify, muted_until or both{f', not {unknown}' if unknown else ''}.")
    values = {name: MEMBERSHIP_SETTINGS[name](value) for name, value in changes.items()}
    membership = room_join(actor=actor, room=room)  # the membership, created for a public room
    Membership.objects.filter(pk=membership.pk).update(**values)
    for name, value in values.items():
        setattr(membership, name, value)
    return membership
