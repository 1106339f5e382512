"""Shapes of users on the wire. Validation of shape lives here; rules live in users.services."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
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
            "role",
            "is_bot",
            "owner",
        ]
        read_only_fields = fields

    owner = serializers.IntegerField(
        source="bot_owner_id", allow_null=True, read_only=True, help_text="For a bot: its owner's id; null for people"
    )

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
    role = serializers.ChoiceField(choices=User.Role.choices, required=False, help_text="Administrators only")


class ApiTokenCreateSerializer(serializers.Serializer):
    """A new personal access token: a name, its scopes, and optionally when it expires."""

    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=["read", "write", "admin"]), min_length=1, max_length=3
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiTokenSerializer(serializers.Serializer):
    """A token as listed (never its secret)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class ApiTokenIssuedSerializer(ApiTokenSerializer):
    """A token just created: ``token`` is the secret, shown this once and never again."""

    token = serializers.CharField()


class BotCreateSerializer(serializers.Serializer):
    """A bot account: its username (unique among all users) and a display name."""

    username = serializers.CharField(max_length=150)
    display_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class AuditEntrySerializer(serializers.Serializer):
    """One audit entry: who did what to whom, in which room, why, how (rest, socket, admin, command), when."""

    id = serializers.IntegerField()
    actor = serializers.DictField(allow_null=True, help_text="{id, username}, or null for the system")
    action = serializers.CharField()
    target = serializers.DictField(allow_null=True, help_text="{type, id, label}")
    room = serializers.CharField(allow_null=True)
    reason = serializers.CharField()
    via = serializers.ChoiceField(choices=["rest", "socket", "admin", "command"])
    created_at = serializers.DateTimeField()


@extend_schema_serializer(many=False)  # a page object, though it answers the list route
class AuditPageSerializer(serializers.Serializer):
    results = AuditEntrySerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="The URL of the next (older) page, or null")


class AuditQuerySerializer(serializers.Serializer):
    actor = serializers.IntegerField(required=False, min_value=1, help_text="An actor's user id")
    action = serializers.CharField(required=False, max_length=40, help_text="An action, or a prefix ending in '.'")
    room = serializers.CharField(required=False, max_length=64, help_text="A room slug")
    before = serializers.IntegerField(required=False, min_value=1, help_text="Entries older than this id (cursor)")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50)


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
