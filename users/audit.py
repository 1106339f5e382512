"""The audit log: every moderation and administration action, recorded by the service that does it.

``audit_record`` is called inside the action's transaction (a rolled-back action leaves no record);
``audit_list`` is what workspace administrators read (``GET /api/v1/audit/``, the admin).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from core.errors import PermissionDenied
from users.models import AuditEntry, User

REASON_LENGTH = AuditEntry._meta.get_field("reason").max_length or 500
LABEL_LENGTH = AuditEntry._meta.get_field("target_label").max_length or 200
VIAS = frozenset(AuditEntry.Via.values)


def audit_record(
    *,
    actor: User | None,
    action: str,
    via: str,
    target: Any = None,
    room: Any = None,
    reason: str = "",
) -> AuditEntry:
    """Store one entry. ``target``: a user, a message, a room or any model instance (its kind and id
    are kept, and a label); ``room``: a room (its id and slug are kept, the record outlives it)."""
    if via not in VIAS:
        raise ValueError(f"Unknown audit channel {via!r}")
    target_type = target_label = ""
    target_id = None
    if target is not None:
        target_type = type(target).__name__.lower()
        target_id = target.pk
        target_label = str(getattr(target, "username", None) or target)[:LABEL_LENGTH]
    return AuditEntry.objects.create(
        actor=actor,
        actor_username=actor.username if actor is not None else "",
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        room_id=getattr(room, "pk", None),
        room_slug=getattr(room, "slug", "") or "",
        reason=(reason or "")[:REASON_LENGTH],
        via=via,
    )


def audit_list(
    *,
    actor: User,
    actor_id: int | None = None,
    action: str = "",
    room: str = "",
    before: int | None = None,
) -> QuerySet[AuditEntry]:
    """Entries newest first for workspace administrators, filtered by actor id, action (exact, or a
    prefix ending in ``.``: ``room.``), room slug, and ``before`` (an entry id, the cursor)."""
    if not actor.is_staff:
        raise PermissionDenied("Only workspace administrators may read the audit log.")
    entries = AuditEntry.objects.select_related("actor").order_by("-id")
    if actor_id is not None:
        entries = entries.filter(actor_id=actor_id)
    if action:
        entries = entries.filter(action__startswith=action) if action.endswith(".") else entries.filter(action=action)
    if room:
        entries = entries.filter(room_slug=room)
    if before is not None:
        entries = entries.filter(pk__lt=before)
    return entries


def audit_payload(entry: AuditEntry) -> dict[str, Any]:
    """An entry on the wire: ``{id, actor, action, target, room, reason, via, created_at}``."""
    return {
        "id": entry.pk,
        "actor": {"id": entry.actor_id, "username": entry.actor_username} if entry.actor_username else None,
        "action": entry.action,
        "target": (
            {"type": entry.target_type, "id": entry.target_id, "label": entry.target_label}
            if entry.target_type
            else None
        ),
        "room": entry.room_slug or None,
        "reason": entry.reason,
        "via": entry.via,
        "created_at": _iso(entry.created_at),
    }


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
