"""Sending, editing and deleting messages: the one path for REST and sockets.

``message_send`` stores first, allocating the room's next seq under the room row's lock, and publishes
after commit, so nothing a client was acknowledged can be missing from history and nothing rolled
back is ever broadcast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists
from django.utils import timezone

from core import budgets
from core.errors import ApplicationError, InvalidField
from core.validation import is_database_id, is_storable_text
from messaging import events, formatting, limits
from messaging.models import Attachment, Message, MessageVersion, Room
from messaging.selectors import (
    MessageNotFound,
    active_mutes,
    message_get_for_user,
    room_get_for_user,
    room_moderates,
)
from messaging.services import notifications, threads
from messaging.services.errors import (
    ClientIdReused,
    EmptyMessage,
    InvalidClientId,
    MessageTooLong,
    NotAuthor,
    SendingTooFast,
    UnknownAttachment,
)
from messaging.services.files import attachment_files_delete_on_commit
from messaging.services.moderation import Muted
from messaging.services.pins import message_forget_extras
from messaging.services.posting import REFUSALS, allocate_seq_if_may_post, check_may_send
from messaging.services.room_manage import room_check_writable
from messaging.signals import message_stored
from realtime.kernel import RoomFrame, encode, publish
from users import audit
from users.models import AuditEntry, User


@dataclass(frozen=True)
class SendResult:
    """The stored message and whether this call created it (False: an idempotent retry)."""

    message: Message
    created: bool


def message_send(
    *,
    sender: User,
    content: str,
    room: Room | None = None,
    room_slug: str | None = None,
    client_id: str | None = None,
    attachment_ids: Sequence[int] = (),
    reply_to_id: int | None = None,
) -> SendResult:
    """Store a message in a room the sender may write, then broadcast it after commit.

    A repeated ``client_id`` from the same sender returns the stored message (created=False) when
    the content matches and raises ClientIdReused when it does not. New messages spend the sender's
    CHAT_MESSAGE_RATE budget (SendingTooFast when it is spent); retries do not.
    """
    content = _check_content(content, has_attachments=bool(attachment_ids))
    client_id = _check_client_id(client_id)
    attachment_ids = _check_attachment_ids(attachment_ids)
    # A caller that passes a Room (a socket) checked access when it opened; the user may have been
    # deactivated, banned or removed from the room since, and the close telling its socket may still be
    # on its way: the seq's statement checks again (posting.py), with archived, mutes and the post policy.
    check_access = room is not None
    if room is None:
        room = room_get_for_user(user=sender, slug=room_slug)
        room_check_writable(room=room)
    wait = budgets.spend("message", sender.pk, rate=settings.CHAT_MESSAGE_RATE)
    if wait:
        check_may_send(user=sender, room=room, check_access=check_access)  # refusals come before 429
        # Over budget, a retry of a message already stored is still answered (it costs nothing).
        previous = _previous_send(sender, client_id, content) if client_id else None
        if previous is None:
            raise budgets.too_fast(SendingTooFast, wait)
        return SendResult(previous, created=False)
    try:
        with transaction.atomic():
            message = _store(sender, room, content, client_id, attachment_ids, reply_to_id, check_access)
    except REFUSALS:
        # Refused by the seq's statement (rolled back: no seq consumed): nothing was sent, so it costs nothing.
        budgets.refund("message", sender.pk, rate=settings.CHAT_MESSAGE_RATE)
        raise
    except IntegrityError:
        # The (sender, client_id) constraint refused a retry: answer with the stored message. Trying
        # the insert first keeps the common case at one round of queries; a retry pays a rollback.
        previous = _previous_send(sender, client_id, content) if client_id else None
        if previous is None:
            raise
        budgets.refund("message", sender.pk, rate=settings.CHAT_MESSAGE_RATE)
        return SendResult(previous, created=False)
    return SendResult(message, created=True)


def _store(
    sender: User,
    room: Room,
    content: str,
    client_id: str,
    attachment_ids: list[int],
    reply_to_id: int | None,
    check_access: bool,
) -> Message:
    seq = allocate_seq_if_may_post(room=room, sender=sender, check_access=check_access)
    reply_to, root = (
        threads.thread_root_lock(room=room, reply_to_id=reply_to_id) if reply_to_id is not None else (None, None)
    )
    message = Message.objects.create(
        room=room,
        seq=seq,
        sender=sender,
        content=content,
        html=formatting.render_message(content),
        client_id=client_id,
        reply_to=reply_to,
        thread_root=root,
    )
    message.room = room
    message.sender = sender
    attached = _attach(message, sender, attachment_ids) if attachment_ids else []
    setattr(message, events.PREFETCHED_ATTACHMENTS, attached)  # the REST answer's payload reads them again
    if root is not None:
        threads.thread_reply_added(root=root, reply=message)
    notifications.notify_message_recipients(
        message=message, room=room, sender=sender, attachments=attached, thread_root=root
    )
    frame = encode(events.message_created(message, room_slug=room.slug, attachments=attached))
    publish(RoomFrame(room_id=room.pk, frame=frame, seq=seq, sender=sender.pk))
    if root is not None:
        threads.thread_updated_publish(root, room_id=room.pk, room_slug=room.slug)
    message_stored.send(sender=Message, message=message, room=room)
    return message


def _previous_send(sender: User, client_id: str, content: str) -> Message | None:
    previous = (
        Message.objects.select_related("room", "sender")
        .prefetch_related("attachments")
        .filter(sender=sender, client_id=client_id)
        .first()
    )
    if previous is not None and previous.content != content:
        raise ClientIdReused()
    return previous


def _check_content(content: object, *, has_attachments: bool) -> str:
    if not isinstance(content, str):
        raise InvalidField("content must be a string.")
    content = content.strip()
    if not content and not has_attachments:
        raise EmptyMessage()
    limit = settings.CHAT_MAX_MESSAGE_LENGTH
    if len(content) > limit:
        raise MessageTooLong(f"Messages are limited to {limit} characters; this one has {len(content)}.")
    if not is_storable_text(content):
        raise InvalidField("content must be text without NUL characters or lone surrogates.")
    return content


def _check_client_id(client_id: object) -> str:
    if client_id is None:
        return ""
    if not isinstance(client_id, str) or len(client_id) > limits.CLIENT_ID or not is_storable_text(client_id):
        raise InvalidClientId()
    return client_id.strip()


def _check_attachment_ids(attachment_ids: Sequence[int]) -> list[int]:
    ids = list(attachment_ids)
    if len(ids) > limits.ATTACHMENTS_PER_MESSAGE or not all(is_database_id(i) for i in ids):
        raise UnknownAttachment(f"attachments must be a list of at most {limits.ATTACHMENTS_PER_MESSAGE} file ids.")
    if len(set(ids)) != len(ids):
        raise UnknownAttachment("The same file is listed twice.")
    return ids


def _attach(message: Message, sender: User, attachment_ids: list[int]) -> list[Attachment]:
    linked = Attachment.objects.filter(pk__in=attachment_ids, uploader=sender, message__isnull=True).update(
        message=message
    )
    if linked != len(attachment_ids):
        raise UnknownAttachment()
    return list(Attachment.objects.filter(message=message).order_by("id"))


def message_edit(*, actor: User, message_id: int, content: str) -> Message:
    """Change a message's text (its author or a site administrator); broadcast ``message_updated``."""
    message = message_get_for_user(user=actor, message_id=message_id)
    if message.is_deleted:
        raise MessageNotFound()
    if message.sender_id != actor.pk and not actor.is_staff:
        raise NotAuthor()
    room_check_writable(room=message.room)
    content = _edit_content(actor, message, content)
    earlier = MessageVersion(message=message, content=message.content, html=message.html, edited_at=message.edited_at)
    message.content = content
    message.html = formatting.render_message(message.content)
    message.edited_at = timezone.now()
    with transaction.atomic():
        if earlier.content != content:
            earlier.save()  # the edit history (GET /messages/{id}/history/)
        # A muted author may not edit: checked in the UPDATE itself (no read of its own), rolled back if so.
        muted = Exists(active_mutes(user_id=actor.pk, room=message.room_id))
        fields = {"content": message.content, "html": message.html, "edited_at": message.edited_at}
        if not Message.objects.filter(~muted, pk=message.pk).update(**fields):
            raise Muted() if active_mutes(user_id=actor.pk, room=message.room_id).exists() else MessageNotFound()
        publish(RoomFrame(room_id=message.room_id, frame=encode(events.message_updated(message))))
    return message


def _edit_content(actor: User, message: Message, content: str) -> str:
    """The new text, checked. A muted author is told ``muted`` before what is wrong with the text, as
    when the mute was read first (read here only for refused text; a valid edit's UPDATE checks it)."""
    try:
        return _check_content(content, has_attachments=bool(message.attachments.all()))
    except ApplicationError:
        if active_mutes(user_id=actor.pk, room=message.room_id).exists():
            raise Muted() from None
        raise


def message_delete(*, actor: User, message_id: int, via: str = AuditEntry.Via.REST) -> Message:
    """Soft-delete a message (its author, or a moderator of its room: the room's owners and moderators,
    workspace admins and moderators; audited): it keeps its seq, loses its content and files; broadcast
    ``message_deleted``."""
    message = message_get_for_user(user=actor, message_id=message_id)
    if message.is_deleted:
        raise MessageNotFound()
    moderating = message.sender_id != actor.pk
    if moderating and not room_moderates(user=actor, room=message.room):
        raise NotAuthor()
    room_check_writable(room=message.room)
    with transaction.atomic():
        if moderating:
            audit.audit_record(
                actor=actor, action="message.delete", target=message, room=message.room, reason="", via=via
            )
        attachment_files_delete_on_commit(list(message.attachments.all()))
        Attachment.objects.filter(message=message).delete()
        message.is_deleted = True
        message.content = message.html = ""
        message_forget_extras(actor=actor, message=message)
        message.save(update_fields=["is_deleted", "content", "html", "reaction_summary", "pinned_at", "pinned_by"])
        frame = encode(events.message_deleted(message))
        publish(RoomFrame(room_id=message.room_id, frame=frame, changes_unread=True))
        root = threads.thread_recount(root_id=message.thread_root_id) if message.thread_root_id else None
        if root is not None:
            threads.thread_updated_publish(root, room_id=message.room_id, room_slug=message.room.slug)
    return message
