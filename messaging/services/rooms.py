"""Rooms: creation, membership, direct-message rooms between two users, and read state."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from core.errors import InvalidField, NotFound, PermissionDenied, TooLong
from core.validation import is_storable_text
from messaging import limits
from messaging.models import GENERAL_ROOM_SLUG, Membership, Room
from messaging.selectors import RoomNotFound, active_bans, membership_get, unread_counts
from messaging.services.errors import InvalidRoom, LastOwner, NotRoomManager, SlugTaken, UserBanned
from realtime.kernel import CloseRoomSockets, CloseUserSockets, TrackRoom, UnreadChanged, closecodes, publish
from users import audit
from users.models import AuditEntry, User

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
    if other.pk == actor.pk:
        raise InvalidField("A direct conversation needs another person.")
    if not other.is_active:
        raise NotFound("No such user.")
    low, high = sorted([actor.pk, other.pk])
    key = f"{low}:{high}"
    existing = Room.objects.filter(direct_key=key).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            room = Room.objects.create(
                slug=f"dm-{low}-{high}", name="Direct message", kind=Room.Kind.DIRECT, direct_key=key, created_by=actor
            )
            Membership.objects.bulk_create([Membership(room=room, user_id=low), Membership(room=room, user_id=high)])
            for user_id in (low, high):
                publish(TrackRoom(user_id=user_id, room_id=room.pk, room_slug=room.slug))
    except IntegrityError:
        return Room.objects.get(direct_key=key), False
    return room, True


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


def room_delete(*, actor: User, room: Room, via: str = AuditEntry.Via.REST) -> None:
    """Delete a room for good (site administrators): its messages and files through the purge, then
    the room; every socket following it closes with 4404 and stops counting its unread messages."""
    from messaging.services.purge import messages_purge

    if not actor.is_staff:
        raise NotRoomManager("Only administrators may delete rooms.")
    messages_purge(actor=actor, room=room, via=via)
    with transaction.atomic():
        audit.audit_record(actor=actor, action="room.delete", target=room, room=room, via=via)
        publish(CloseRoomSockets(room_id=room.pk, code=closecodes.ROOM_UNREADABLE))
        room.delete()
