"""Room management: settings (name, topic, archived), deletion and members' roles, who may do each, the
read-only rule of archived rooms, and the ``room_*`` frames that tell notification sockets.

Who manages a room: its owners and workspace administrators (``is_staff``) change everything; its
moderators change the settings marked ``moderators`` (the topic). A room with members always keeps an
owner. Direct rooms have no settings and no roles to change.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.db import transaction

from core.errors import InvalidField, NotFound, TooLong
from core.validation import is_storable_text
from messaging import events, limits
from messaging.models import GENERAL_ROOM_SLUG, Membership, Room
from messaging.selectors import membership_get, public_room_outsiders
from messaging.services.errors import InvalidRoom, LastOwner, NotRoomManager, RoomArchived
from messaging.services.moderation import room_post_policy_check, room_post_policy_write
from realtime.kernel import CloseRoomSockets, EveryoneFrame, UserFrame, closecodes, encode, publish
from users import audit
from users.models import AuditEntry, User

# --- the read-only rule ------------------------------------------------------------------------------


def room_check_writable(*, room: Room) -> None:
    """RoomArchived unless something may be written to ``room`` (a message sent, edited, deleted, a
    reaction, a pin...): every service that writes to a room calls this, with a Room it has just read.
    A send from a socket, whose Room may be old, reads the flag with its seq instead (posting.py)."""
    if room.archived:
        raise RoomArchived()


# --- settings ----------------------------------------------------------------------------------------


def _check_name(room: Room, value: object) -> str:
    if not isinstance(value, str) or not is_storable_text(value) or not value.strip():
        raise InvalidField(f"name must be 1 to {limits.ROOM_NAME} characters of text.")
    if len(value.strip()) > limits.ROOM_NAME:
        raise TooLong(f"name is limited to {limits.ROOM_NAME} characters.")
    return value.strip()


def _check_topic(room: Room, value: object) -> str:
    if not isinstance(value, str) or not is_storable_text(value):
        raise InvalidField("topic must be text without NUL characters or lone surrogates.")
    if len(value.strip()) > limits.ROOM_TOPIC:
        raise TooLong(f"topic is limited to {limits.ROOM_TOPIC} characters.")
    return value.strip()


def _check_archived(room: Room, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidField("archived must be true or false.")
    if value and room.slug == GENERAL_ROOM_SLUG:
        raise InvalidRoom("The default room cannot be archived.")
    return value


@dataclass(frozen=True)
class RoomSetting:
    """A room setting ``room_update`` may change: ``check`` turns the value sent into the value stored
    (or raises); owners and administrators may change every setting, moderators only those marked."""

    check: Callable[[Room, Any], Any]
    moderators: bool = False


# A new setting (a column of Room) is one entry here and one field of the PATCH serializer.
ROOM_SETTINGS: dict[str, RoomSetting] = {
    "name": RoomSetting(_check_name),
    "topic": RoomSetting(_check_topic, moderators=True),
    "archived": RoomSetting(_check_archived),
}
# Set beside them in the same PATCH, under moderation's rule (messaging/services/moderation.py).
POST_POLICY = "post_policy"


def room_update(*, actor: User, room: Room, changes: Mapping[str, Any], via: str = AuditEntry.Via.REST) -> Room:
    """Change some of a room's settings (``ROOM_SETTINGS``) and its ``post_policy`` (moderation's rule:
    room and workspace moderators); ``room_updated`` to everyone who may see it when a setting changed.
    Every part is checked before anything is written, then all of it is written in one transaction (one
    audit entry per kind of change): a body with one refused part stores nothing. An archived room's
    settings still change (that is how it is unarchived)."""
    settings_sent = {name: value for name, value in changes.items() if name != POST_POLICY}
    changed = _settings_check(actor=actor, room=room, changes=settings_sent, policy_sent=POST_POLICY in changes)
    policy = changes.get(POST_POLICY)
    new_policy = POST_POLICY in changes and room_post_policy_check(actor=actor, room=room, post_policy=policy)
    if not changed and not new_policy:
        return room
    with transaction.atomic():
        if new_policy:
            room_post_policy_write(actor=actor, room=room, post_policy=cast(str, policy), via=via)
        if changed:
            _settings_write(actor=actor, room=room, changed=changed, via=via)
    return room


def _settings_check(*, actor: User, room: Room, changes: Mapping[str, Any], policy_sent: bool) -> dict[str, Any]:
    """The settings among ``changes`` that change, checked (values and who may change them)."""
    unknown = sorted(set(changes) - set(ROOM_SETTINGS))
    if unknown or not (changes or policy_sent):
        names = ", ".join([*ROOM_SETTINGS, POST_POLICY])
        raise InvalidField(f"Send at least one of {names}" + (f", not {unknown}." if unknown else "."))
    if not changes:
        return {}
    if room.kind == Room.Kind.DIRECT:
        raise InvalidRoom("Direct conversations have no settings to change.")
    role = _manager_role(actor, room)
    if role is None or (role == Membership.Role.MODERATOR and not all(ROOM_SETTINGS[f].moderators for f in changes)):
        raise NotRoomManager("Only the room's owners (moderators: its topic) or administrators may change this.")
    values = {name: ROOM_SETTINGS[name].check(room, value) for name, value in changes.items()}
    return {name: value for name, value in values.items() if getattr(room, name) != value}


def _settings_write(*, actor: User, room: Room, changed: Mapping[str, Any], via: str) -> None:
    Room.objects.filter(pk=room.pk).update(**changed)
    for name, value in changed.items():
        setattr(room, name, value)
    audit.audit_record(
        actor=actor, action="room.update", target=room, room=room, reason=", ".join(sorted(changed)), via=via
    )
    room_announce(room=room, build=events.room_updated)


def _manager_role(actor: User, room: Room) -> str | None:
    """How ``actor`` manages ``room``: ``owner`` (owners and administrators), ``moderator``, or None."""
    if actor.is_staff and actor.is_active:
        return Membership.Role.OWNER
    membership = membership_get(user=actor, room=room)
    if membership is None or not membership.can_manage:
        return None
    return membership.role


# --- roles -------------------------------------------------------------------------------------------


def room_set_role(*, actor: User, room: Room, user: User, role: str, via: str = AuditEntry.Via.REST) -> Membership:
    """Give a member of ``room`` a role (owners and administrators): hand a room over by making another
    member owner, then leave. The last owner of a room with members cannot stop being one."""
    if role not in Membership.Role.values:
        raise InvalidField(f"role must be one of {', '.join(Membership.Role.values)}.")
    if room.kind == Room.Kind.DIRECT:
        raise InvalidRoom("Direct conversations have no roles.")
    if _manager_role(actor, room) != Membership.Role.OWNER:
        raise NotRoomManager("Only the room's owners or administrators may change roles.")
    with transaction.atomic():
        # The owners' rows locked (PostgreSQL), so two owners demoting each other cannot both succeed.
        owners = list(
            Membership.objects.select_for_update()
            .filter(room=room, role=Membership.Role.OWNER)
            .values_list("user_id", flat=True)
        )
        membership = membership_get(user=user, room=room)
        if membership is None:
            raise NotFound("Not a member of this room.")
        if membership.role == role:
            return membership
        if membership.role == Membership.Role.OWNER and owners == [user.pk]:
            raise LastOwner("Make another member owner first: a room with members always has an owner.")
        membership.role = role
        membership.save(update_fields=["role"])
        audit.audit_record(actor=actor, action="room.role", target=user, room=room, reason=role, via=via)
    return membership


# --- deletion ----------------------------------------------------------------------------------------


def room_delete(*, actor: User, room: Room, via: str = AuditEntry.Via.REST) -> None:
    """Delete a room for good (its owners and administrators): its messages and files through the purge,
    then the room; every socket following it closes with 4404 and stops counting its unread messages,
    and ``room_deleted`` reaches everyone who could see it. The default room cannot be deleted."""
    from messaging.services.purge import messages_purge

    if room.slug == GENERAL_ROOM_SLUG:
        raise InvalidRoom("The default room cannot be deleted.")
    if not (actor.is_staff and actor.is_active) and not (
        room.kind != Room.Kind.DIRECT and _manager_role(actor, room) == Membership.Role.OWNER
    ):
        raise NotRoomManager("Only the room's owners or administrators may delete it.")
    messages_purge(actor=None, room=room, announce=False, via=via)
    with transaction.atomic():
        audit.audit_record(actor=actor, action="room.delete", target=room, room=room, via=via)
        room_announce(room=room, build=events.room_deleted)
        publish(CloseRoomSockets(room_id=room.pk, code=closecodes.ROOM_UNREADABLE))
        room.delete()


# --- the room_* frames -------------------------------------------------------------------------------

RoomFrameBuilder = Callable[..., dict[str, Any]]


def room_announce(*, room: Room, build: RoomFrameBuilder, only: Collection[int] | None = None) -> None:
    """Publish ``build(room)`` (events.room_created, room_updated, room_deleted) after commit, serialized
    once, to the notification sockets of everyone who may see the room: everyone's for a public room,
    its active members' for a private or direct room; ``only``: just these users (who may see it)."""
    if room.is_public and only is None:
        hidden = tuple(public_room_outsiders(room=room))
        publish(EveryoneFrame(kind="notifications", frame=encode(build(room)), except_users=hidden))
        return
    members = list(User.objects.filter(memberships__room=room).order_by("pk"))
    frame = encode(build(room, direct_members=members if room.kind == Room.Kind.DIRECT else None))
    for member in members:
        if member.is_active and (only is None or member.pk in only):
            publish(UserFrame(user_id=member.pk, kind="notifications", frame=frame))
