"""The token checks of concurrent handshakes in one trip to the database thread, their users in one query.

``realtime.middleware.authenticate_token`` stays the one place that decides (the provider's token or
ours; simplejwt's checks: a deleted or deactivated user is refused, so is a token issued before a
password change). For a batch of handshakes, the users their tokens name are read first, in one
query, from the tokens' unverified payloads; simplejwt's lookup then takes its user from those rows
instead of querying again. An unverified payload only chooses which rows are read: every token is
still verified before its user is used, and a forged one is refused exactly as before. The rows are
read at the handshake, as before, so no deactivation is missed by a cache.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

import jwt
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings

from users.models import User

T = TypeVar("T")

_preloaded: ContextVar[PreloadedUsers | None] = ContextVar("realtime_preloaded_users", default=None)


class PreloadedUsers:
    """Stands for the user model in simplejwt's ``get_user`` (``objects.get(id=...)``, ``DoesNotExist``),
    answering from the batch's rows; a lookup outside the batch goes to the database."""

    DoesNotExist = User.DoesNotExist

    def __init__(self, ids: set[int], users: dict[int, User]) -> None:
        self.objects = self
        self.ids, self.users = ids, users
        self.handed: set[int] = set()

    def get(self, **lookup: Any) -> User:
        (field, value), *more = lookup.items()
        pk = _as_id(value)
        if more or field not in {"id", "pk"} or pk is None or pk not in self.ids:
            return User.objects.get(**lookup)
        user = self.users.get(pk)
        if user is None:
            raise User.DoesNotExist()
        if pk in self.handed:  # the same user on two sockets of the batch: each gets its own instance
            return copy.copy(user)
        self.handed.add(pk)
        return user


class PreloadingJWTAuthentication(JWTAuthentication):
    """simplejwt's authentication, with its user read from the running batch when there is one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        preloaded = _preloaded.get()
        if preloaded is not None:
            self.user_model = preloaded  # type: ignore[assignment]  # duck-typed: objects.get and DoesNotExist


def authenticate_many(tokens: list[str], authenticate: Callable[[str], T], *, max_length: int) -> list[T | Exception]:
    """``authenticate`` each token (on the database thread), with the users they name read in one query;
    each token's result, or the exception it raised."""
    ids = {pk for pk in (_peek_user_id(token, max_length) for token in tokens) if pk is not None}
    users: dict[int, User] = User.objects.in_bulk(ids) if ids else {}
    reset = _preloaded.set(PreloadedUsers(ids, users))
    try:
        outcomes: list[T | Exception] = []
        for token in tokens:
            try:
                outcomes.append(authenticate(token))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes
    finally:
        _preloaded.reset(reset)


def _peek_user_id(token: str, max_length: int) -> int | None:
    """The user id an access token names, read without verifying it (None when there is none)."""
    if not token or len(token) > max_length:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except Exception:
        return None
    return _as_id(claims.get(api_settings.USER_ID_CLAIM)) if isinstance(claims, dict) else None


def _as_id(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 18:
        return int(value)
    return None
