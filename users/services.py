"""Writes of users: sign-up, profile and configuration updates, the avatar policy, deactivation and
deletion, and the tokens that sign a user in.

Every rule about who may change what lives here, so the API, the admin and the tests agree.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.models import AnonymousUser, update_last_login
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.files import File
from django.core.files.storage import Storage
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from PIL import Image
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken, Token, UntypedToken

from core.errors import FieldErrors, NotAuthenticated, PermissionDenied
from realtime.kernel import CloseUserSockets, closecodes, publish
from users import audit
from users.models import AuditEntry, User
from users.preferences import merge_preferences
from users.signals import user_deleting

logger = logging.getLogger(__name__)

PROFILE_FIELDS = ("display_name", "email", "postal_code", "city")
ADMIN_FIELDS = ("is_active", "is_staff", "is_superuser")
SUPERUSER_ONLY = "Only a superuser may change, deactivate, delete or sign out a superuser."
# Avatars a browser shows in an <img>; the stored suffix follows the decoded format, not the client's name.
AVATAR_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp"}


class UsernameTaken(FieldErrors):
    """Another user already has this username (compared case-insensitively)."""

    def __init__(self) -> None:
        super().__init__({"username": ["A user with that username already exists."]})


class InvalidCredentials(NotAuthenticated):
    """Username and password do not match an active account."""

    code = "invalid_credentials"
    default_detail = "No active account found with the given credentials."


class InvalidToken(NotAuthenticated):
    """A token that is malformed, expired, revoked, of the wrong type, or whose user is gone."""

    code = "token_not_valid"
    default_detail = "Token is invalid or expired."


class InactiveAccount(NotAuthenticated):
    """A valid refresh token of a user who has since been deactivated."""

    code = "no_active_account"
    default_detail = "No active account found for the given token."


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: str
    refresh: str


@contextmanager
def _as_field_errors() -> Iterator[None]:
    """Django's model and password validation raise its ValidationError; callers get FieldErrors."""
    try:
        yield
    except ValidationError as exc:
        raise FieldErrors(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}) from None


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
        with _as_field_errors():
            user.preferences = merge_preferences(None, preferences)
    if password is None:
        user.set_unusable_password()
    else:
        _validate_password(password, user)
        user.set_password(password)
    _check_username_free(username)
    with _as_field_errors():
        user.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise UsernameTaken() from None
    return user


def user_can_manage(*, actor: User, user: User) -> bool:
    """Whether the administrator ``actor`` may change, deactivate, delete or sign out ``user``: staff
    manage ordinary users, and only a superuser manages a superuser."""
    return actor.is_staff and (actor.is_superuser or not user.is_superuser)


def user_update(*, actor: User, user: User, data: dict[str, Any], via: str = AuditEntry.Via.REST) -> User:
    """Update a profile; the user themself or an admin; only admins touch the admin flags.

    ``user`` must hold its stored admin flags (the superuser rule is checked on them). A new password
    closes the user's sockets with 4401, as it revokes their older access tokens.
    """
    if actor.pk != user.pk:
        _check_manages(actor=actor, user=user, refusal="You may only change your own profile.")
    forbidden = [field for field in ADMIN_FIELDS if field in data and not actor.is_staff]
    if forbidden:
        raise PermissionDenied(f"Only administrators may change {', '.join(forbidden)}.")
    if "is_superuser" in data and not actor.is_superuser:
        raise PermissionDenied("Only superusers may grant or remove superuser status.")
    if "role" in data:
        _check_role_change(actor=actor, user=user, role=data["role"])
    was_active, old_avatar, old_role = user.is_active, user.avatar.name, user.role
    _apply_changes(actor=actor, user=user, data=data)
    with _as_field_errors():
        user.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            user.save()
            if was_active and not user.is_active:
                publish(CloseUserSockets(user_id=user.pk, code=closecodes.USER_GONE))
            if "password" in data:
                publish(CloseUserSockets(user_id=user.pk, code=closecodes.TOKEN_INVALID))
            if old_avatar and old_avatar != user.avatar.name:
                _delete_file_on_commit(user, old_avatar)
            if old_role != user.role:
                audit.audit_record(actor=actor, action="user.role", target=user, reason=user.role, via=via)
                _close_sockets_of_a_new_guest(user, old_role)
            if was_active != user.is_active:
                action = "user.activate" if user.is_active else "user.deactivate"
                audit.audit_record(actor=actor, action=action, target=user, via=via)
    except IntegrityError:
        raise UsernameTaken() from None
    return user


def user_set_active(*, actor: User, users: Iterable[User], active: bool, via: str = AuditEntry.Via.ADMIN) -> int:
    """Activate or deactivate several users (admin action) in one UPDATE; deactivated users' sockets
    close with 4403. An administrator never deactivates themself; only superusers touch superusers."""
    if not actor.is_staff:
        raise PermissionDenied("Only administrators may activate or deactivate users.")
    wanted = [user.pk for user in users]
    with transaction.atomic():
        rows = list(
            User.objects.select_for_update().filter(pk__in=wanted).values_list("pk", "is_active", "is_superuser")
        )
        if not actor.is_superuser and any(is_superuser for _, _, is_superuser in rows):
            raise PermissionDenied(SUPERUSER_ONLY)
        ids = [pk for pk, is_active, _ in rows if is_active != active and (active or pk != actor.pk)]
        changed = User.objects.filter(pk__in=ids).update(is_active=active)
        for changed_user in User.objects.filter(pk__in=ids):
            action = "user.activate" if active else "user.deactivate"
            audit.audit_record(actor=actor, action=action, target=changed_user, via=via)
        if not active:
            for user_id in ids:
                publish(CloseUserSockets(user_id=user_id, code=closecodes.USER_GONE))
    return changed


def user_delete(*, actor: User, user: User, via: str = AuditEntry.Via.REST) -> None:
    """Delete a user (admins only): their refresh tokens are revoked first, their open sockets are
    closed with 4403 and their avatar file goes once the deletion commits. ``user_deleting`` is sent in
    the same transaction, before the row goes (messaging recounts the reactions the user leaves)."""
    _check_manages(actor=actor, user=user, refusal="Only administrators may delete users.")
    if user.pk == actor.pk:
        raise PermissionDenied("Administrators cannot delete their own account here.")
    user_id, avatar = user.pk, user.avatar.name
    with transaction.atomic():
        # Before the row goes: the outstanding tokens lose their link to the user when it is deleted.
        _revoke_refresh_tokens(user)
        audit.audit_record(actor=actor, action="user.delete", target=user, via=via)
        user_deleting.send(sender=User, user=user)
        user.delete()
        publish(CloseUserSockets(user_id=user_id, code=closecodes.USER_GONE))
        if avatar:
            _delete_file_on_commit(user, avatar)


def user_sign_out_everywhere(*, actor: User, user: User, via: str = AuditEntry.Via.REST) -> int:
    """Revoke every refresh token of ``user`` and close their sockets; return how many were revoked.

    The user themself, or an administrator who may manage them."""
    if actor.pk != user.pk:
        _check_manages(actor=actor, user=user, refusal="Only administrators may sign out other users.")
    with transaction.atomic():
        revoked = _revoke_refresh_tokens(user)
        publish(CloseUserSockets(user_id=user.pk, code=closecodes.TOKEN_INVALID))
        if actor.pk != user.pk:
            audit.audit_record(actor=actor, action="user.sign_out", target=user, via=via)
    return revoked


def _check_role_change(*, actor: User, user: User, role: object) -> None:
    if role not in User.Role.values:
        raise FieldErrors({"role": [f"One of {', '.join(User.Role.values)}."]})
    if not actor.is_staff:
        raise PermissionDenied("Only administrators may change roles.")
    _check_manages(actor=actor, user=user, refusal="Only administrators may change roles.")
    if user.is_superuser and role != User.Role.ADMIN:
        raise PermissionDenied("A superuser is always an admin.")
    if user.pk == actor.pk and role != User.Role.ADMIN:
        raise PermissionDenied("Administrators cannot demote themselves.")
    if user.is_bot and role == User.Role.ADMIN:
        raise PermissionDenied("A bot cannot be an admin.")


def _apply_role(user: User, role: str) -> None:
    """Set a workspace role on ``user`` (not saved), keeping ``is_staff`` in step: admins are staff."""
    user.role = role
    user.is_staff = role == User.Role.ADMIN


def user_set_role(*, actor: User, user: User, role: str, via: str = AuditEntry.Via.REST) -> User:
    """Change a user's workspace role (administrators; only superusers touch superusers); audited."""
    _check_role_change(actor=actor, user=user, role=role)
    if user.role == role:
        return user
    old_role = user.role
    with transaction.atomic():
        _apply_role(user, role)
        user.save(update_fields=["role", "is_staff"])
        audit.audit_record(actor=actor, action="user.role", target=user, reason=role, via=via)
        _close_sockets_of_a_new_guest(user, old_role)
    return user


def _close_sockets_of_a_new_guest(user: User, old_role: str) -> None:
    """Someone made a guest stops reading the public rooms it was not added to at once: an open socket
    would go on receiving their frames. Its sockets close with 4401, as after a new password, and
    reconnect under the guest's rule (4404 for those rooms)."""
    if user.is_guest and old_role != User.Role.GUEST:
        publish(CloseUserSockets(user_id=user.pk, code=closecodes.TOKEN_INVALID))


def _check_manages(*, actor: User, user: User, refusal: str) -> None:
    """Raise PermissionDenied (``refusal`` for non-staff) unless ``actor`` may manage ``user``."""
    if not actor.is_staff:
        raise PermissionDenied(refusal)
    if not user_can_manage(actor=actor, user=user):
        raise PermissionDenied(SUPERUSER_ONLY)


def _apply_changes(*, actor: User, user: User, data: dict[str, Any]) -> None:
    """Set the requested fields on ``user`` (not saved); permissions were checked by the caller."""
    for field in (*PROFILE_FIELDS, *ADMIN_FIELDS):
        if field in data:
            setattr(user, field, data[field])
    if "role" in data:
        _apply_role(user, data["role"])
    elif data.get("is_staff") is False and not user.is_superuser and user.role == User.Role.ADMIN:
        user.role = User.Role.MEMBER  # no longer staff: no longer an admin (User.save keeps the two in step)
    if "email" in data:
        user.email = User.objects.normalize_email(data["email"] or "")
    if "username" in data and data["username"] != user.username:
        _check_username_free(data["username"], exclude=user.pk)
        user.username = data["username"]
    if "preferences" in data:
        with _as_field_errors():
            user.preferences = merge_preferences(user.preferences, data["preferences"])
    if "password" in data:
        _change_password(actor=actor, user=user, new=data["password"], current=data.get("current_password"))
    if "avatar" in data:
        user.avatar = avatar_check(data["avatar"]) if data["avatar"] else ""


def avatar_check(upload: File[bytes]) -> File[bytes]:
    """The avatar policy, for every path that sets one (API, admin): at most CHAT_MAX_AVATAR_BYTES, a
    PNG, JPEG, GIF or WebP image by its decoded bytes, renamed after that format; FieldErrors otherwise."""
    limit = settings.CHAT_MAX_AVATAR_BYTES
    if upload.size is None or upload.size > limit:
        raise FieldErrors({"avatar": [f"Avatars are limited to {limit} bytes."]})
    image_format = _image_format(upload)
    if image_format not in AVATAR_FORMATS:
        raise FieldErrors({"avatar": ["Avatars must be PNG, JPEG, GIF or WebP images."]})
    upload.name = f"avatar{AVATAR_FORMATS[image_format]}"
    return upload


def _image_format(upload: File[bytes]) -> str | None:
    """Pillow's name for the format of the image in ``upload`` (read from its bytes), or None."""
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image.verify()
            return image.format
    except Exception:  # Pillow raises many kinds (OSError, SyntaxError, DecompressionBombError...) for non-images
        return None
    finally:
        upload.seek(0)


def token_issue(*, username: str, password: str, request: HttpRequest | None = None) -> TokenPair:
    """A new access and refresh token for an active user with this password; InvalidCredentials
    otherwise (the same answer for an unknown user, a wrong password and a deactivated account)."""
    user = authenticate(request, username=username, password=password)
    if not isinstance(user, User) or not user.is_active or user.is_bot:
        raise InvalidCredentials()
    refresh = RefreshToken.for_user(user)
    update_last_login(User, user)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def token_refresh(*, refresh: str) -> TokenPair:
    """Exchange a refresh token for a new pair; the old one is blacklisted (rotation), so it works once.

    InvalidToken when it is not a live refresh token or its user is gone; InactiveAccount when the user
    was deactivated."""
    if not refresh:
        raise InvalidToken()
    rotation = TokenRefreshSerializer(data={"refresh": refresh})
    try:
        rotation.is_valid(raise_exception=True)
    except TokenError as exc:
        raise InvalidToken(str(exc)) from None
    except ObjectDoesNotExist:
        # simplejwt looks the token's user up with .get(): a deleted user's token is no longer valid.
        raise InvalidToken("The token's user no longer exists.") from None
    except AuthenticationFailed:
        raise InactiveAccount() from None
    tokens = rotation.validated_data
    return TokenPair(access=tokens["access"], refresh=tokens.get("refresh", refresh))


def token_verify(*, token: str) -> None:
    """Raise InvalidToken unless ``token`` is a valid access or refresh token (refresh: not revoked)."""
    try:
        parsed = UntypedToken(_encoded(token))
        if parsed.get("token_type") == "refresh":
            RefreshToken(_encoded(token)).check_blacklist()
    except TokenError as exc:
        raise InvalidToken(str(exc)) from None


def token_revoke(*, refresh: str) -> None:
    """Blacklist a refresh token (logout); InvalidToken when it is not a valid refresh token."""
    try:
        RefreshToken(_encoded(refresh)).blacklist()
    except TokenError as exc:
        raise InvalidToken(str(exc)) from None


def _encoded(raw: str) -> Token:
    """``raw`` typed as simplejwt's constructors declare it (``Token | None``), though they take, and
    decode, the encoded string."""
    return cast(Token, raw)


def _revoke_refresh_tokens(user: User) -> int:
    """Blacklist every outstanding refresh token of ``user``; return how many."""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    revoked = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )
    return len(revoked)


def _delete_file_on_commit(user: User, name: str) -> None:
    """Remove a stored file of ``user`` (a replaced or removed avatar) once the transaction commits."""
    transaction.on_commit(partial(_delete_stored_file, user.avatar.storage, name))


def _delete_stored_file(storage: Storage, name: str) -> None:
    try:
        storage.delete(name)
    except OSError:
        # A file left behind costs disk space only; the user's change has already been committed.
        logger.warning("Could not delete the replaced file %s", name, exc_info=True)


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
        raise FieldErrors({"password": exc.messages}) from None


def _change_password(*, actor: User, user: User, new: str, current: str | None) -> None:
    # Everyone, administrators included, proves their current password to change their own: a stolen
    # access token must not be enough to take the account over. Admins reset others' without it.
    if actor.pk == user.pk and not user.check_password(current or ""):
        raise FieldErrors({"current_password": ["Your current password is required and was not correct."]})
    _validate_password(new, user)
    user.set_password(new)
