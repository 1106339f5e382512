"""Writes of users: sign-up, profile and configuration updates, deactivation and deletion.

Every rule about who may change what lives here, so the API, the admin and the tests agree.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from chatsite.errors import PermissionDenied
from realtime import groups
from realtime.publish import publish_close
from users.models import User
from users.preferences import merge_preferences

PROFILE_FIELDS = ("display_name", "email", "postal_code", "city")
ADMIN_FIELDS = ("is_active", "is_staff", "is_superuser")
CLOSE_USER_GONE = 4403
CLOSE_TOKEN_INVALID = 4401


class UsernameTaken(ValidationError):
    """Another user already has this username (compared case-insensitively)."""

    def __init__(self) -> None:
        super().__init__({"username": ["A user with that username already exists."]}, code="unique")


def user_create(
    *,
    actor: User | AnonymousUser | None = None,
    username: str,
    password: str | None,
    email: str = "",
    display_name: str = "",
    postal_code: str = "",
    city: str = "",
    preferences: dict[str, Any] | None = None,
    is_active: bool | None = None,
    is_staff: bool | None = None,
    is_superuser: bool | None = None,
) -> User:
    """Create a user with a validated password (None: an unusable one, for identity-provider users).

    ``actor`` is who asks (None for the system itself: admin site, identity provider, commands); only
    administrators and the system may set the admin flags.
    """
    requested_flags = [name for name, value in _flags(is_active, is_staff, is_superuser).items() if value]
    if actor is not None and requested_flags and not actor.is_staff:
        raise PermissionDenied(f"Only administrators may set {', '.join(requested_flags)}.")
    if actor is not None and is_superuser and not actor.is_superuser:
        raise PermissionDenied("Only superusers may create superusers.")
    user = User(
        username=username,
        email=User.objects.normalize_email(email or ""),
        display_name=display_name,
        postal_code=postal_code,
        city=city,
        is_active=True if is_active is None else is_active,
        is_staff=bool(is_staff or is_superuser),
        is_superuser=bool(is_superuser),
    )
    if preferences is not None:
        user.preferences = merge_preferences(None, preferences)
    if password is None:
        user.set_unusable_password()
    else:
        _validate_password(password, user)
        user.set_password(password)
    _check_username_free(username)
    user.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise UsernameTaken() from None
    return user


def user_update(*, actor: User, user: User, data: dict[str, Any]) -> User:
    """Update a profile; the user themself or an admin; only admins touch the admin flags."""
    if actor.pk != user.pk and not actor.is_staff:
        raise PermissionDenied("You may only change your own profile.")
    forbidden = [field for field in ADMIN_FIELDS if field in data and not actor.is_staff]
    if forbidden:
        raise PermissionDenied(f"Only administrators may change {', '.join(forbidden)}.")
    if "is_superuser" in data and not actor.is_superuser:
        raise PermissionDenied("Only superusers may grant or remove superuser status.")
    was_active = user.is_active
    for field in (*PROFILE_FIELDS, *ADMIN_FIELDS):
        if field in data:
            setattr(user, field, data[field])
    if "email" in data:
        user.email = User.objects.normalize_email(data["email"] or "")
    if "username" in data and data["username"] != user.username:
        _check_username_free(data["username"], exclude=user.pk)
        user.username = data["username"]
    if "preferences" in data:
        user.preferences = merge_preferences(user.preferences, data["preferences"])
    if "password" in data:
        _change_password(actor=actor, user=user, new=data["password"], current=data.get("current_password"))
    if "avatar" in data:
        user.avatar = data["avatar"] or ""
    user.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            user.save()
            if was_active and not user.is_active:
                publish_close(groups.user(user.pk), CLOSE_USER_GONE)
    except IntegrityError:
        raise UsernameTaken() from None
    return user


def user_set_active(*, actor: User, users: list[User], active: bool) -> int:
    """Activate or deactivate several users (admin action); deactivated users' sockets close with 4403."""
    if not actor.is_staff:
        raise PermissionDenied("Only administrators may activate or deactivate users.")
    changed = 0
    with transaction.atomic():
        for user in users:
            if user.is_active == active or (user.pk == actor.pk and not active):
                continue
            User.objects.filter(pk=user.pk).update(is_active=active)
            changed += 1
            if not active:
                publish_close(groups.user(user.pk), CLOSE_USER_GONE)
    return changed


def user_delete(*, actor: User, user: User) -> None:
    """Delete a user (admins only); their open sockets are closed with 4403."""
    if not actor.is_staff:
        raise PermissionDenied("Only administrators may delete users.")
    if user.pk == actor.pk:
        raise PermissionDenied("Administrators cannot delete their own account here.")
    user_id = user.pk
    with transaction.atomic():
        user.delete()
        publish_close(groups.user(user_id), CLOSE_USER_GONE)


def user_sign_out_everywhere(*, user: User) -> int:
    """Revoke every refresh token of ``user`` and close their sockets; return how many were revoked."""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    with transaction.atomic():
        live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
        revoked = BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
        )
        publish_close(groups.user(user.pk), CLOSE_TOKEN_INVALID)
    return len(revoked)


def _flags(is_active: bool | None, is_staff: bool | None, is_superuser: bool | None) -> dict[str, bool]:
    """Which admin-only flags a request sets away from the sign-up defaults."""
    return {
        "is_active": is_active is not None and not is_active,
        "is_staff": bool(is_staff),
        "is_superuser": bool(is_superuser),
    }


def _check_username_free(username: str, *, exclude: int | None = None) -> None:
    taken = User.objects.filter(username__iexact=username)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise UsernameTaken()


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None


def _change_password(*, actor: User, user: User, new: str, current: str | None) -> None:
    if actor.pk == user.pk and not actor.is_staff and not user.check_password(current or ""):
        raise ValidationError({"current_password": ["Your current password is required and was not correct."]})
    _validate_password(new, user)
    user.set_password(new)
