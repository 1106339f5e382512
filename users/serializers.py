"""Shapes of users on the wire. Validation of shape lives here; rules live in users.services."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from users import selectors
from users.models import User


def avatar_url(user: User) -> str | None:
    """Where the avatar is served (GET /api/v1/users/{id}/avatar/), or None; ``v`` changes with the
    file, so a cached copy is never shown after the avatar changes."""
    if not user.avatar:
        return None
    version = PurePath(user.avatar.name or "").stem[:12]
    return f"{reverse('user-avatar', args=[user.pk])}?v={version}"


# Which fields a viewer sees is users.selectors.user_hidden_fields' rule; the viewer is context["viewer"],
# else the request's user. (The docstring is the OpenAPI description.)
class UserSerializer(serializers.ModelSerializer):
    """A user as others see them; email and postal code only for the user themself and admins."""

    avatar = serializers.SerializerMethodField(help_text="URL of the avatar image, or null")

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "display_name",
            "avatar",
            "city",
            "is_active",
            "is_staff",
            "date_joined",
            "email",
            "postal_code",
            "is_superuser",
            "last_login",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_avatar(self, user: User) -> str | None:
        return avatar_url(user)

    def to_representation(self, instance: User) -> dict[str, Any]:
        data = super().to_representation(instance)
        viewer = self.context.get("viewer") or getattr(self.context.get("request"), "user", None)
        for field in selectors.user_hidden_fields(viewer=viewer, user=instance):
            data.pop(field, None)
        return data


class ConfigurationSerializer(UserSerializer):
    """The caller's configuration (GET/PATCH /users/me/): profile plus validated preferences."""

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "preferences"]
        read_only_fields = fields


class UserCreateSerializer(serializers.Serializer):
    """Sign-up (or creation by an admin). Admin-only flags are accepted from admins only."""

    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    display_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    preferences = serializers.JSONField(required=False)
    is_active = serializers.BooleanField(required=False)
    is_staff = serializers.BooleanField(required=False)
    is_superuser = serializers.BooleanField(required=False)


# The avatar policy (size, formats, stored name) is users.services.avatar_check's, for the admin too.
class UserUpdateSerializer(serializers.Serializer):
    """Fields a PUT/PATCH may carry; which of them the caller may change is decided by the service."""

    username = serializers.CharField(max_length=150, required=False)
    display_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    preferences = serializers.JSONField(required=False)
    password = serializers.CharField(write_only=True, required=False, max_length=128)
    current_password = serializers.CharField(write_only=True, required=False, max_length=128)
    avatar = serializers.ImageField(required=False, allow_null=True)
    is_active = serializers.BooleanField(required=False)
    is_staff = serializers.BooleanField(required=False)
    is_superuser = serializers.BooleanField(required=False)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(required=False, help_text="Optional when the refresh_token cookie is sent.")


class VerifySerializer(serializers.Serializer):
    token = serializers.CharField()
