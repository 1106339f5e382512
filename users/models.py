"""The custom user: Django's AbstractUser plus the profile and preferences back_chat called configuration."""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from users.preferences import default_preferences, validate_preferences


def avatar_upload_to(instance: User, filename: str) -> str:
    """Store avatars under a random name: a client's file name never reaches the disk."""
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"avatars/{uuid.uuid4().hex}{suffix}"


def _validate_preferences_document(value: object) -> None:
    validate_preferences(value)


class User(AbstractUser):
    display_name = models.CharField(max_length=150, blank=True)
    avatar = models.ImageField(upload_to=avatar_upload_to, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    preferences = models.JSONField(default=default_preferences, validators=[_validate_preferences_document])

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["username"]
        constraints = [
            # Mentions are case-insensitive, so "@Ana" must name exactly one user.
            models.UniqueConstraint(Lower("username"), name="unique_username_ci"),
        ]

    def __str__(self) -> str:
        return self.username

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
