"""Moderation of rooms: bans, mutes, the post policy (announcement rooms) and reports of messages.

Who moderates a room: its owners and moderators, and workspace admins and moderators
(``selectors.room_moderates``). Every action here is audited (``users.audit``) in its transaction.
The caller has found the room through ``room_get_for_user``, so a room it may not read is a 404 before
any of this runs.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core import budgets
from core.errors import Conflict, FieldErrors, InvalidField, NotFound, PermissionDenied, RateLimited
from core.validation import is_database_id, is_storable_text
from messaging import limits
from messaging.models import Membership, Message, MessageReport, Notification, Room, RoomSanction
from messaging.selectors import MessageNotFound, active_mutes, message_get_for_user, report_list, room_moderates
from messaging.services.errors import InvalidRoom
from messaging.services.notifications import notification_rows_push
from realtime.kernel import CloseUserSockets, closecodes, publish
from users import audit
from users.models import AuditEntry, User

# Workspace admins and moderators told of a report, at most (room moderators come first).
MAX_REPORT_RECIPIENTS = 50


class NotModerator(PermissionDenied):
    """Only the room's owners and moderators, or workspace admins and moderators, may do this."""

    code = "not_moderator"
    default_detail = "Only moderators of this room may do this."


class Muted(PermissionDenied):
    """The user is muted in this room: they may read, not write."""

    code = "muted"
    default_detail = "You are muted in this room."


class PostingRestricted(PermissionDenied):
    """Only moderators post in this room (an announcement room)."""

    code = "posting_restricted"
    default_detail = "Only moderators may post in this room."


class AlreadyReported(Conflict):
    """The reporter has an open report of this message already."""

    code = "already_reported"
    default_detail = "You have already reported this message."


class ReportingTooFast(RateLimited):
    default_detail = "You are reporting messages too fast."


class SanctionNotFound(NotFound):
    default_detail = "This user is not banned (or muted) here."


class ReportNotFound(NotFound):
    default_detail = "No such report."


def check_moderator(*, actor: User, room: Room) -> None:
    """NotModerator unless ``actor`` moderates ``room``."""
    if not room_moderates(user=actor, room=room):
        raise NotModerator()


def _check_moderator(actor: User, room: Room) -> None:
    check_moderator(actor=actor, room=room)


def _target(room: Room, user_id: object, *, actor: User) -> User:
    """The user a moderator acts on: an active user; not oneself, not a workspace admin or moderator,
    and a room's owner only for workspace moderators."""
    user = User.objects.filter(pk=cast(int, user_id), is_active=True).first() if is_database_id(user_id) else None
    if user is None:
        raise FieldErrors({"user": ["No such user."]})
    if user.pk == actor.pk:
        raise PermissionDenied("You cannot do this to yourself.")
    if user.is_workspace_moderator:
        raise PermissionDenied("Workspace admins and moderators cannot be banned or muted.")
    owner = Membership.objects.filter(room=room, user=user, role=Membership.Role.OWNER).exists()
    if owner and not actor.is_workspace_moderator:
        raise PermissionDenied("Only workspace moderators may ban or mute a room's owner.")
    return user


def _check_reason(reason: object) -> str:
    if reason is None:
        return ""
    if not isinstance(reason, str) or len(reason) > limits.MODERATION_REASON or not is_storable_text(reason):
        raise FieldErrors({"reason": [f"At most {limits.MODERATION_REASON} characters of text."]})
    return reason.strip()


def _check_until(until: datetime | None, *, required: bool) -> datetime | None:
    if until is None:
        if required:
            raise FieldErrors({"until": ["Required: when the mute ends."]})
        return None
    if until <= timezone.now():
        raise FieldErrors({"until": ["Must be in the future."]})
    return until


def _check_room(room: Room) -> None:
    if room.kind == Room.Kind.DIRECT:
        raise InvalidRoom("Nobody is banned, muted or moderated in a direct conversation.")


def room_sanction(
    *,
    actor: User,
    room: Room,
    kind: str,
    user_id: int,
    until: datetime | None = None,
    reason: str = "",
    via: str = AuditEntry.Via.REST,
) -> RoomSanction:
    """Ban (``kind`` ban) or mute (``kind`` mute) a user in a room, audited, replacing any sanction of
    that kind in force. A ban lasts until a time or for good: the membership goes, the user's sockets
    for the room close with 4403 on every process, and they cannot read or rejoin it while it lasts. A
    mute needs an end: they keep reading (their sockets stay open), and sending or editing there is
    refused with ``muted`` over REST and sockets alike."""
    if kind not in RoomSanction.Kind.values:
        raise InvalidField(f"kind must be one of {', '.join(RoomSanction.Kind.values)}.")
    _check_room(room)
    _check_moderator(actor, room)
    user = _target(room, user_id, actor=actor)
    banning = kind == RoomSanction.Kind.BAN
    reason, until = _check_reason(reason), _check_until(until, required=not banning)
    with transaction.atomic():
        sanction, _ = RoomSanction.objects.update_or_create(
            room=room,
            user=user,
            kind=kind,
            defaults={"until": until, "reason": reason, "created_by": actor, "created_at": timezone.now()},
        )
        if banning:
            Membership.objects.filter(room=room, user=user).delete()
            publish(CloseUserSockets(user_id=user.pk, code=closecodes.USER_GONE, room_id=room.pk))
        audit.audit_record(actor=actor, action=f"room.{kind}", target=user, room=room, reason=reason, via=via)
    sanction.user = user
    return sanction


def room_sanction_lift(*, actor: User, room: Room, kind: str, user_id: int, via: str = AuditEntry.Via.REST) -> None:
    """Lift a ban (they may join again, or be added back) or a mute; SanctionNotFound when none is."""
    _check_room(room)
    _check_moderator(actor, room)
    _lift(actor, room, user_id, kind, via)


# The two sanctions by name, as the admin, the sockets' tests and readers of the audit log call them.
room_ban = partial(room_sanction, kind=RoomSanction.Kind.BAN)
room_mute = partial(room_sanction, kind=RoomSanction.Kind.MUTE)


def _lift(actor: User, room: Room, user_id: int, kind: str, via: str) -> None:
    sanction = (
        RoomSanction.objects.select_related("user").filter(room=room, user_id=user_id, kind=kind).first()
        if is_database_id(user_id)
        else None
    )
    if sanction is None:
        raise SanctionNotFound()
    with transaction.atomic():
        sanction.delete()
        audit.audit_record(actor=actor, action=f"room.un{kind}", target=sanction.user, room=room, via=via)


def room_set_post_policy(*, actor: User, room: Room, post_policy: str, via: str = AuditEntry.Via.REST) -> Room:
    """Who may post in a room: ``everyone`` (who may write it) or ``moderators`` (announcements)."""
    if room_post_policy_check(actor=actor, room=room, post_policy=post_policy):
        with transaction.atomic():
            room_post_policy_write(actor=actor, room=room, post_policy=post_policy, via=via)
    return room


def room_post_policy_check(*, actor: User, room: Room, post_policy: object) -> bool:
    """Raise unless ``actor`` may give ``room`` this post policy (a moderator of it, a valid policy, not
    a direct conversation); whether it changes anything. Writes nothing, so that a PATCH that also
    changes other settings checks them all before writing any (``room_manage.room_update``)."""
    if post_policy not in Room.PostPolicy.values:
        raise FieldErrors({"post_policy": [f"One of {', '.join(Room.PostPolicy.values)}."]})
    _check_room(room)
    _check_moderator(actor, room)
    return room.post_policy != post_policy


def room_post_policy_write(*, actor: User, room: Room, post_policy: str, via: str) -> None:
    """Store a post policy ``room_post_policy_check`` accepted, audited, in the caller's transaction."""
    room.post_policy = post_policy
    room.save(update_fields=["post_policy"])
    audit.audit_record(actor=actor, action="room.post_policy", target=room, room=room, reason=post_policy, via=via)


def check_may_post(*, user: User, room: Room, editing: bool = False) -> None:
    """Muted and PostingRestricted, read fresh in one query (a socket's room may come from a cache):
    a muted user may not send or edit; in a moderators-only room only moderators send."""
    mute = active_mutes(user_id=user.pk, room=OuterRef("pk"))
    row = Room.objects.filter(pk=room.pk).annotate(muted=Exists(mute)).values_list("post_policy", "muted").first()
    policy, is_muted = row if row is not None else (Room.PostPolicy.EVERYONE, False)
    if is_muted:
        raise Muted()
    if not editing and policy == Room.PostPolicy.MODERATORS and not room_moderates(user=user, room=room):
        raise PostingRestricted()


# Reports


def report_create(*, actor: User, message_id: int, reason: str) -> MessageReport:
    """Report a message of a room the actor reads: one open report per reporter and message, within
    CHAT_REPORT_RATE; the room's moderators (and workspace admins and moderators) are notified."""
    message = message_get_for_user(user=actor, message_id=message_id)
    if message.is_deleted:
        raise MessageNotFound()
    if not isinstance(reason, str) or not reason.strip() or len(reason) > limits.MODERATION_REASON:
        raise FieldErrors({"reason": [f"A reason of 1 to {limits.MODERATION_REASON} characters."]})
    if not is_storable_text(reason):
        raise InvalidField("reason must be text.")
    if MessageReport.objects.filter(message=message, reporter=actor, status=MessageReport.Status.OPEN).exists():
        raise AlreadyReported()
    budgets.check("report", actor.pk, rate=settings.CHAT_REPORT_RATE, error=ReportingTooFast)
    try:
        with transaction.atomic():
            report = MessageReport.objects.create(
                message=message, room=message.room, reporter=actor, reason=reason.strip()
            )
            _notify_moderators(report, message)
    except IntegrityError:
        raise AlreadyReported() from None
    return report


def _notify_moderators(report: MessageReport, message: Message) -> None:
    room = message.room
    roles = (Membership.Role.OWNER, Membership.Role.MODERATOR)
    room_moderators = list(
        User.objects.filter(memberships__room=room, memberships__role__in=roles, is_active=True)[:MAX_REPORT_RECIPIENTS]
    )
    workspace = User.objects.filter(
        Q(is_staff=True) | Q(role__in=[User.Role.ADMIN, User.Role.MODERATOR]), is_active=True, is_bot=False
    ).exclude(pk__in=[user.pk for user in room_moderators])
    recipients = [*room_moderators, *workspace[: max(0, MAX_REPORT_RECIPIENTS - len(room_moderators))]]
    reporter = report.reporter
    rows = [
        Notification(
            recipient=user,
            kind=Notification.Kind.REPORT,
            title=f"A message in #{room.slug} was reported",
            body=report.reason,
            actor=reporter,
            data={"report": report.pk, "room": room.slug, "message_id": message.pk, "seq": message.seq},
        )
        for user in recipients
        if reporter is None or user.pk != reporter.pk
    ]
    notification_rows_push(rows)


def report_resolve(
    *, actor: User, report_id: int, status: str = MessageReport.Status.RESOLVED, via: str = AuditEntry.Via.REST
) -> MessageReport:
    """Close a report as ``resolved`` or ``dismissed`` (a moderator of its room)."""
    if status not in (MessageReport.Status.RESOLVED, MessageReport.Status.DISMISSED):
        raise FieldErrors({"status": ["resolved or dismissed."]})
    report = report_list(user=actor, status=None).filter(pk=report_id).first() if is_database_id(report_id) else None
    if report is None:
        raise ReportNotFound()
    if report.status != MessageReport.Status.OPEN:
        raise Conflict("This report is already closed.")
    with transaction.atomic():
        report.status, report.resolved_by, report.resolved_at = status, actor, timezone.now()
        report.save(update_fields=["status", "resolved_by", "resolved_at"])
        audit.audit_record(
            actor=actor,
            action=f"report.{status}",
            target=report.message,
            room=report.room,
            reason=report.reason,
            via=via,
        )
    return report
