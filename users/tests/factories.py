"""Test factories for users and their tokens."""

from __future__ import annotations

import itertools

from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from users.models import User

PASSWORD = "correct-horse-battery-staple"
_numbers = itertools.count(1)


def make_user(username: str | None = None, *, password: str = PASSWORD, **fields) -> User:
    """A saved active user (unique username unless given), with ``password`` set."""
    username = username or f"user{next(_numbers)}"
    user = User(username=username, **fields)
    user.set_password(password)
    user.save()
    return user


def token_for(user: User) -> str:
    """A fresh access token for ``user``."""
    return str(AccessToken.for_user(user))


def refresh_for(user: User) -> RefreshToken:
    return RefreshToken.for_user(user)
