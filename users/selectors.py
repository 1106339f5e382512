"""Reads of users, scoped to what the caller may see."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.db.models.fields.files import FieldFile

from core.errors import NotFound
from users.models import User

# What only the user themself and administrators see of a user.
PRIVATE_FIELDS = ("email", "postal_code", "is_superuser", "last_login")
# messaging's Room.Kind.PUBLIC (users imports no messaging module; a messaging test keeps the two equal):
# a room every active user who is not a guest reads without a membership row.
PUBLIC_ROOM_KIND = "public"


class AvatarNotFound(NotFound):
    """The user has no avatar, or is not visible to the caller (the two are never told apart)."""

    default_detail = "No such avatar."


def user_list(*, actor: User, search: str = "", include_inactive: bool = False) -> QuerySet[User]:
    """Users the actor may list: active ones, plus inactive ones for admins who ask for them."""
    users = visible_users(actor=actor).order_by("username")
    if not (actor.is_staff and include_inactive):
        users = users.filter(is_active=True)
    if search:
        users = users.filter(
            Q(username__icontains=search) | Q(display_name__icontains=search) | Q(email__icontains=search)
            if actor.is_staff
            else Q(username__icontains=search) | Q(display_name__icontains=search)
        )
    return users


def visible_users(*, actor: User) -> QuerySet[User]:
    """Users ``actor`` may know of: everyone, except for a guest, who sees themself and the people who
    share a room with them (as Slack's and Mattermost's guests do): the members of the rooms they were
    added to and, when one of those is public, everyone who reads it (every user who is not a guest).

    Rooms are reached through the reverse relation ``memberships``: a guest who was removed from a room,
    or banned (a ban removes the membership), no longer shares it."""
    users = User.objects.all()
    if not actor.is_guest:
        return users
    rooms = User.objects.filter(pk=actor.pk).values("memberships__room")
    sharing = User.objects.filter(memberships__room__in=rooms).values("pk")
    shared = Q(pk=actor.pk) | Q(pk__in=sharing)
    if User.objects.filter(pk=actor.pk, memberships__room__kind=PUBLIC_ROOM_KIND).exists():
        shared |= ~Q(role=User.Role.GUEST) | Q(is_staff=True)
    return users.filter(shared)


def visible_user_ids(*, actor: User, ids: Iterable[int]) -> set[int]:
    """Those of ``ids`` that ``actor`` may know of (``visible_users``), whatever their state."""
    wanted = set(ids)
    if not actor.is_guest:
        return wanted
    return set(visible_users(actor=actor).filter(pk__in=wanted).values_list("pk", flat=True))


def user_hidden_fields(*, viewer: User | AnonymousUser | None, user: User) -> tuple[str, ...]:
    """The fields of ``user`` that ``viewer`` may not see: none for the user themself and for
    administrators, PRIVATE_FIELDS for anyone else (nobody signed in: None or anonymous)."""
    if viewer is not None and viewer.is_authenticated and (viewer.pk == user.pk or viewer.is_staff):
        return ()
    return PRIVATE_FIELDS


def user_get(*, actor: User, user_id: int) -> User:
    """One user by id; inactive users are visible to admins only, and a guest sees only the people who
    share a room with them (``visible_users``); missing and hidden ones raise the same NotFound."""
    try:
        user = visible_users(actor=actor).get(pk=user_id)
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


def users_by_ids(*, actor: User, ids: Iterable[int]) -> QuerySet[User]:
    """The active users among ``ids`` that ``actor`` may know of (unknown and hidden ids are left out),
    by username."""
    return visible_users(actor=actor).filter(pk__in=list(ids), is_active=True).order_by("username")
