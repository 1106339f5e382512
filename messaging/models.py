"""Rooms, memberships, messages with a per-room sequence, attachments and notifications."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from messaging.sniffing import EXTENSIONS

GENERAL_ROOM_SLUG = "general"


class Room(models.Model):
    class Kind(models.TextChoices):
        PUBLIC = "public", "Public"
        PRIVATE = "private", "Private"
        DIRECT = "direct", "Direct message"

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    topic = models.CharField(max_length=250, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PUBLIC)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The last allocated message seq. Bumped under this row's lock by the inserting transaction, so
    # seqs are gapless and in commit order (DESIGN.md, "Ordering and delivery").
    last_seq = models.PositiveBigIntegerField(default=0)

    class PostPolicy(models.TextChoices):
        EVERYONE = "everyone", "Everyone"
        MODERATORS = "moderators", "Moderators only (announcements)"

    # Who may post: everyone who may write, or only moderators (an announcement room).
    post_policy = models.CharField(max_length=10, choices=PostPolicy.choices, default=PostPolicy.EVERYONE)
    # "<lower user id>:<higher user id>" for direct rooms: one room per pair, enforced by the database.
    direct_key = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="direct", direct_key__isnull=False) | (~Q(kind="direct") & Q(direct_key__isnull=True)),
                name="room_direct_key_iff_direct",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_public(self) -> bool:
        return self.kind == self.Kind.PUBLIC


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MODERATOR = "moderator", "Moderator"
        MEMBER = "member", "Member"

    # The unique (room, user) and the (user, room) indexes serve both directions.
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)
    # Read state as a seq: unread = messages of others after it (index message_unread_idx).
    last_read_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "user"], name="membership_unique_room_user")]
        indexes = [models.Index(fields=["user", "room"], name="membership_user_room_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.room_id} ({self.role})"

    @property
    def can_manage(self) -> bool:
        return self.role in {self.Role.OWNER, self.Role.MODERATOR}


class Message(models.Model):
    # The (room, seq) unique index serves every history page; no separate room index is needed.
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages", db_index=False)
    seq = models.PositiveBigIntegerField()
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    content = models.TextField(blank=True)
    client_id = models.CharField(max_length=64, blank=True, default="")
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    is_deleted = models.BooleanField(default=False)

    class Meta:
        ordering = ["room", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="message_unique_room_seq"),
            # A retried send with the same client_id is stored once (idempotency, DESIGN.md).
            models.UniqueConstraint(
                fields=["sender", "client_id"], condition=~Q(client_id=""), name="message_unique_sender_client_id"
            ),
        ]
        indexes = [
            # Unread counts: an index-only range count of others' live messages after last_read_seq.
            models.Index(fields=["room", "seq", "sender"], condition=Q(is_deleted=False), name="message_unread_idx"),
            # purge_messages --older-than.
            models.Index(fields=["created_at"], name="message_created_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.room_id}#{self.seq}"


def attachment_upload_to(instance: Attachment, filename: str) -> str:
    """A random name under a dated folder, ending in the extension of the attachment's sniffed type (or
    none): nothing of the client's ``filename`` survives."""
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{EXTENSIONS.get(instance.content_type, '')}"


def attachment_thumbnail_to(instance: Attachment, filename: str) -> str:
    """A random name under a dated folder of its own, unrelated to the original's name."""
    return f"thumbnails/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.webp"


class Attachment(models.Model):
    file = models.FileField(upload_to=attachment_upload_to, max_length=200)
    # A WebP preview of an image (messaging/thumbnails.py); empty for anything else.
    thumbnail = models.FileField(upload_to=attachment_thumbnail_to, max_length=200, blank=True)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["uploader", "created_at"], name="attachment_uploader_idx")]

    def __str__(self) -> str:
        return self.original_name


class Notification(models.Model):
    class Kind(models.TextChoices):
        MENTION = "mention", "Mention"
        DIRECT_MESSAGE = "direct_message", "Direct message"
        FILE_SHARED = "file_shared", "File shared"
        MESSAGES_PURGED = "messages_purged", "Messages purged"
        USER = "user", "From a user"
        REPORT = "report", "Message reported"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notification_recipient_idx"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"


class RoomSanction(models.Model):
    """A ban (no reading, no joining; ``until`` null: for good) or a mute (reading only, until ``until``)
    of one user in one room. One of each kind per (room, user): a new one replaces the old."""

    class Kind(models.TextChoices):
        BAN = "ban", "Ban"
        MUTE = "mute", "Mute"

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="sanctions", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_sanctions")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    until = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["room", "user", "kind"], name="sanction_unique_room_user_kind"),
            models.CheckConstraint(condition=Q(kind="ban") | Q(until__isnull=False), name="sanction_mute_has_until"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.user_id} in {self.room_id}"


class MessageReport(models.Model):
    """A reader's report of a message to the room's moderators."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="reports", db_index=False)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "reporter"], condition=Q(status="open"), name="report_one_open_per_reporter"
            ),
        ]
        indexes = [models.Index(fields=["room", "status", "-id"], name="report_room_status_idx")]

    def __str__(self) -> str:
        return f"report {self.pk} of {self.message_id}"
