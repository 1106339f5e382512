"""Reads of users, scoped to what the caller may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from chatsite.errors import NotFound
from users.models import User


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


def user_get(*, actor: User, user_id: int) -> User:
    """One user by id; inactive users are visible to admins only, missing ones raise NotFound."""
    try:
        user = User.objects.get(pk=user_id)
    except (User.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such user.") from None
    if not user.is_active and not actor.is_staff and user.pk != actor.pk:
        raise NotFound("No such user.")
    return user


def user_get_by_username(*, username: str) -> User | None:
    return User.objects.filter(username__iexact=username, is_active=True).first()
