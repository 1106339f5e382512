"""Hard deletion of history, in batches, shared by the API, the admin and `manage.py purge_messages`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.models import QuerySet

from core.errors import PermissionDenied
from messaging import events
from messaging.models import Attachment, Message, Room
from messaging.services.files import delete_stored_files, stored_names
from messaging.services.notifications import notify_purge
from realtime.kernel import EveryoneFrame, RoomFrame, encode, publish
from users import audit
from users.models import AuditEntry, User

Progress = Callable[[int, int], None]


def purge_queryset(
    *, room: Room | None = None, older_than: datetime | None = None, ids: list[int] | None = None
) -> QuerySet[Message]:
    """The messages a purge with these filters deletes."""
    messages = Message.objects.all()
    if room is not None:
        messages = messages.filter(room=room)
    if older_than is not None:
        messages = messages.filter(created_at__lt=older_than)
    if ids is not None:
        messages = messages.filter(pk__in=ids)
    return messages


def messages_purge(
    *,
    actor: User | None,
    room: Room | None = None,
    older_than: datetime | None = None,
    ids: list[int] | None = None,
    batch_size: int = 1000,
    progress: Progress | None = None,
    via: str = AuditEntry.Via.REST,
) -> int:
    """Delete messages (and their files) for good, ``batch_size`` per transaction; return how many.

    ``actor`` None is the system (the management command). Seqs are never reused, so clients'
    cursors stay valid. Sockets get ``messages_purged`` and room members a notification.
    """
    if actor is not None and not actor.is_staff:
        raise PermissionDenied("Only administrators may delete messages in bulk.")
    messages = purge_queryset(room=room, older_than=older_than, ids=ids)
    # Who is told: the room asked for; the rooms the selection touches; None ("every room") only
    # when every message goes.
    rooms: list[Room] | None = [room] if room else None
    if room is None and (ids is not None or older_than is not None):
        rooms = list(Room.objects.filter(pk__in=messages.values("room_id")))
    total = messages.count()
    detail = f"{total} message(s)" + (f" older than {older_than.isoformat()}" if older_than else "")
    audit.audit_record(actor=actor, action="messages.purge", room=room, reason=detail, via=via)
    deleted = 0
    while deleted < total or total == 0:
        with transaction.atomic():
            batch = list(messages.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not batch:
                break
            attachments = Attachment.objects.filter(message_id__in=batch).only("file", "thumbnail")
            files = stored_names(attachments)
            Message.objects.filter(pk__in=batch).delete()
            transaction.on_commit(partial(delete_stored_files, files))
        deleted += len(batch)
        if progress:
            progress(deleted, max(total, deleted))
    if deleted:
        _announce(actor, rooms)
    return deleted


def _announce(actor: User | None, rooms: list[Room] | None) -> None:
    """One ``messages_purged`` per purged room (or one for all rooms), and members' notifications."""
    with transaction.atomic():
        if rooms is None:
            publish(EveryoneFrame(kind="messages", frame=encode(events.messages_purged(None)), changes_unread=True))
        for room in rooms or ():
            publish(RoomFrame(room_id=room.pk, frame=encode(events.messages_purged(room)), changes_unread=True))
        notify_purge(actor=actor, rooms=rooms)
