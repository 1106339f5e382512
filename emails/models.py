"""Missed-message emails: what may be emailed (one row per person and message) and what was."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from messaging.models import Message, Notification


class MissedMessageEmail(models.Model):
    """One email to one person, covering the missed messages of one window (the rows that point here)."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        READ_IN_TIME = "read_in_time", "Read in time: nothing sent"
        NOT_WANTED = "not_wanted", "Email turned off: nothing sent"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    # One worker sends a given email at a time; a worker that died while sending gives it up when this passes.
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["user"], condition=Q(outcome="pending"), name="missed_email_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} email to {self.user_id}"


class MissedMessage(models.Model):
    """A message someone was told about (``notification``) that is emailed to them if it is still
    unread at ``due_at``. Rows of one person that share a window share its ``due_at``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    # Read (or deleted, with a purge) notification: the person knows, nothing to email.
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    email = models.ForeignKey(
        MissedMessageEmail, null=True, blank=True, on_delete=models.CASCADE, related_name="missed_messages"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            # Never two emails for the same message: a message enters one window, one email, at most.
            models.UniqueConstraint(fields=["user", "message"], name="missed_message_unique_user_message"),
        ]
        indexes = [models.Index(fields=["user", "due_at"], condition=Q(email__isnull=True), name="missed_open_idx")]

    def __str__(self) -> str:
        return f"message {self.message_id} for {self.user_id} ({self.kind})"
