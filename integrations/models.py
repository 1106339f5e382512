"""Incoming webhooks (a URL that posts into one room), outgoing subscriptions of bots, and their deliveries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.sealing import SealedCharField
from messaging.models import Message, Room

# The purpose a subscription's secret is sealed for (its own key derived from SECRET_KEY).
SECRET_PURPOSE = "integrations.subscription-secret"  # noqa: S105  (a key's label, not a secret)


class IncomingWebhook(models.Model):
    """A secret URL that posts into ``room`` as ``bot``. Only a SHA-256 of the secret is stored."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="webhooks")
    bot = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} -> #{self.room_id}"


class Subscription(models.Model):
    """A bot's outgoing webhook: which events of which rooms are POSTed to ``url``, signed with ``secret``.

    The secret is stored sealed and read back in the clear (the server signs with it); ``rooms`` empty
    means every room the bot may read."""

    class Event(models.TextChoices):
        MESSAGE = "message", "Message"
        MENTION = "mention", "Mention"
        COMMAND = "command", "Command"

    bot = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    url = models.URLField(max_length=2000)
    on_message = models.BooleanField(default=False)
    on_mention = models.BooleanField(default=False)
    on_command = models.BooleanField(default=False)
    command = models.CharField(max_length=32, blank=True, default="")
    rooms = models.ManyToManyField(Room, blank=True, related_name="+")
    # Sealed at rest under a key derived from SECRET_KEY (core/sealing.py): the server must read it back
    # to sign deliveries, so it cannot be hashed like an incoming webhook's.
    secret = SealedCharField(purpose=SECRET_PURPOSE)
    is_active = models.BooleanField(default=True)
    failures_in_a_row = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["command"], condition=Q(on_command=True), name="subscription_command_idx")]

    def __str__(self) -> str:
        return f"{self.bot_id} -> {self.url}"

    @property
    def events(self) -> list[str]:
        chosen = [(self.on_message, "message"), (self.on_mention, "mention"), (self.on_command, "command")]
        return [name for on, name in chosen if on]


class Delivery(models.Model):
    """One event sent to one subscription, and how its tries went (the owner's delivery log)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=10, choices=Subscription.Event.choices)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    reply = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event} #{self.pk} ({self.status})"
