"""Reads of users, scoped to what the caller may see."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.db.models.fields.files import FieldFile

from core.errors import NotFound
from core.prepared import PreparedQuery
from users.models import User

# What only the user themself and administrators see of a user.
PRIVATE_FIELDS = ("email", "postal_code", "is_superuser", "last_login")


class AvatarNotFound(NotFound):
    """The user has no avatar, or is not visible to the caller (the two are never told apart)."""

    default_detail = "No such avatar."


def user_list(*, actor: User, search: str = "", include_inactive: bool = False) -> QuerySet[User]:
    """Users the actor may list: active ones, plus inactive ones for admins who ask for them."""
    users = User.objects.all().order_by("username")
    if not (actor.is_staff and include_inactive):
        users = users.filter(is_active=True)
    if search:
        users = users.filter(
            Q(username__icontains=search) | Q(display_name__icontains=search) | Q(email__icontains=search)
            if actor.is_staff
            else Q(username__icontains=search) | Q(display_name__icontains=search)
        )
    return users


def user_hidden_fields(*, viewer: User | AnonymousUser | None, user: User) -> tuple[str, ...]:
    """The fields of ``user`` that ``viewer`` may not see: none for the user themself and for
    administrators, PRIVATE_FIELDS for anyone else (nobody signed in: None or anonymous)."""
    if viewer is not None and viewer.is_authenticated and (viewer.pk == user.pk or viewer.is_staff):
        return ()
    return PRIVATE_FIELDS


def user_get(*, actor: User, user_id: int) -> User:
    """One user by id; inactive users are visible to admins only, missing ones raise NotFound."""
    try:
        user = User.objects.get(pk=user_id)
    except (User.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such user.") from None
    if not user.is_active and not actor.is_staff and user.pk != actor.pk:
        raise NotFound("No such user.")
    return user


def user_avatar_get(*, actor: User, user_id: int) -> FieldFile:
    """The stored avatar of a user ``actor`` may see (``user_get``'s rule), or AvatarNotFound."""
    try:
        user = user_get(actor=actor, user_id=user_id)
    except NotFound:
        raise AvatarNotFound() from None
    if not user.avatar:
        raise AvatarNotFound()
    return user.avatar


def users_by_ids(*, ids: Iterable[int]) -> QuerySet[User]:
    """The active users among ``ids`` (unknown ids are left out), by username."""
    return User.objects.filter(pk__in=list(ids), is_active=True).order_by("username")


_USER_FIELDS = [field.attname for field in User._meta.concrete_fields]
_USER_BY_PK = PreparedQuery(lambda shape, *, pk: User.objects.filter(pk=pk).values_list(*_USER_FIELDS))


def user_by_pk(*, user_id: int) -> User | None:
    """The user ``user_id``, active or not (what an access token names, on every API request): one query
    whose SQL is compiled once (``core.prepared``), read fresh each time, so a deactivation counts at once."""
    rows = _USER_BY_PK.rows(pk=user_id)
    return User.from_db(_USER_BY_PK.using, _USER_FIELDS, rows[0]) if rows else None
