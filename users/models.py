"""The custom user: Django's AbstractUser plus the profile and preferences back_chat called configuration."""

from __future__ import annotations

import uuid
from pathlib import PurePath
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from users.preferences import default_preferences, validate_preferences


def avatar_upload_to(instance: User, filename: str) -> str:
    """Store avatars under a random name: a client's file name never reaches the disk."""
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"avatars/{uuid.uuid4().hex}{suffix}"


def _validate_preferences_document(value: object) -> None:
    validate_preferences(value)


class User(AbstractUser):
    class Role(models.TextChoices):
        """Workspace roles (DESIGN.md, "Teams and integrations"); staff and superusers are admins."""

        ADMIN = "admin", "Admin"
        MODERATOR = "moderator", "Moderator"
        MEMBER = "member", "Member"
        GUEST = "guest", "Guest"

    display_name = models.CharField(max_length=150, blank=True)
    avatar = models.ImageField(upload_to=avatar_upload_to, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    preferences = models.JSONField(default=default_preferences, validators=[_validate_preferences_document])
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    # A bot signs in with API tokens only (its password is unusable); ``bot_owner`` is who manages it.
    is_bot = models.BooleanField(default=False)
    bot_owner = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="bots", db_index=True
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["username"]
        constraints = [
            # Mentions are case-insensitive, so "@Ana" must name exactly one user.
            models.UniqueConstraint(Lower("username"), name="unique_username_ci"),
            models.CheckConstraint(
                condition=Q(is_bot=True) | Q(bot_owner__isnull=True), name="user_owner_only_for_bots"
            ),
        ]

    def __str__(self) -> str:
        return self.username

    def withhold_admin(self) -> None:
        """Act as a member for the rest of this request (an API token without the admin scope): the
        flags change in memory only, ``save`` leaves the stored ones alone."""
        self._admin_withheld = True
        self.is_staff = self.is_superuser = False
        self.role = self.Role.MEMBER

    def save(self, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "_admin_withheld", False):
            kept = {"is_staff", "is_superuser", "role", "id"}
            fields = kwargs.get("update_fields") or [f.name for f in self._meta.concrete_fields]
            kwargs["update_fields"] = [name for name in fields if name not in kept]
            super().save(*args, **kwargs)
            return
        # One rule, wherever the flags are set from (admin, createsuperuser, API): staff are admins and
        # admins are staff. Demoting an admin clears both (users.services.user_set_role).
        if self.is_staff or self.is_superuser:
            self.role = self.Role.ADMIN
        elif self.role == self.Role.ADMIN:
            self.is_staff = True
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and ({"is_staff", "is_superuser", "role"} & set(update_fields)):
            kwargs["update_fields"] = {*update_fields, "is_staff", "role"}
        super().save(*args, **kwargs)

    @property
    def is_workspace_moderator(self) -> bool:
        """Workspace admins and moderators moderate every room."""
        return self.is_active and (self.is_staff or self.role in {self.Role.ADMIN, self.Role.MODERATOR})

    @property
    def is_guest(self) -> bool:
        return self.role == self.Role.GUEST and not self.is_staff

    def clean(self) -> None:
        super().clean()
        if self.display_name and not self.display_name.strip():
            raise ValidationError({"display_name": "Must not be only spaces."})


class ExternalIdentity(models.Model):
    """Links an identity provider's (issuer, subject) to a local user, never by a name it asserts."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="external_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="unique_external_identity"),
        ]
        verbose_name_plural = "external identities"

    def __str__(self) -> str:
        return f"{self.issuer} {self.subject} -> {self.user_id}"


class ApiToken(models.Model):
    """A personal access token (or a bot's): ``chat_<prefix>_<secret>``, stored as the prefix and the
    SHA-256 of the secret; the full token is shown once, when it is created."""

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Write"
        ADMIN = "admin", "Admin"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}) of {self.user_id}"


class AuditEntry(models.Model):
    """One moderation or administration action: who did what to whom, where, why, how, when.

    The room is kept as its id and slug (no foreign key): the record outlives the room."""

    class Via(models.TextChoices):
        REST = "rest", "REST"
        SOCKET = "socket", "Socket"
        ADMIN = "admin", "Admin"
        COMMAND = "command", "Command"

    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)
    target_type = models.CharField(max_length=20, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    room_id = models.BigIntegerField(null=True, blank=True)
    room_slug = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    via = models.CharField(max_length=10, choices=Via.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["action", "-id"], name="audit_action_idx"),
            models.Index(fields=["actor", "-id"], name="audit_actor_idx"),
            models.Index(fields=["room_slug", "-id"], name="audit_room_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_username} {self.action} {self.target_type}:{self.target_id}"
