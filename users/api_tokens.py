"""Personal access tokens and bots: issue, list, revoke, authenticate, and the scope rule.

A token is ``chat_<prefix>_<secret>``. The prefix (random, unique) finds the row; only the SHA-256 of
the secret is stored and compared in constant time, so a leaked database does not leak tokens. The
whole token is shown once, in the answer that creates it.

Scopes: ``read`` (GET and socket reading), ``write`` (also posting, editing, every unsafe method and
socket frame), ``admin`` (also what needs an administrator, for a user who is one). Write implies read,
admin implies both. A JWT or a session is not scoped (everything its user may do).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.errors import FieldErrors, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from realtime.kernel import CloseTokenSockets, CloseUserSockets, closecodes, publish
from users import audit
from users.models import ApiToken, AuditEntry, User
from users.signals import user_deleting

TOKEN_PREFIX = "chat_"  # noqa: S105  (the public marker of our tokens, not a secret)
SCOPES = (ApiToken.Scope.READ, ApiToken.Scope.WRITE, ApiToken.Scope.ADMIN)
# What each scope grants: write implies read, admin implies both.
IMPLIED: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "write": frozenset({"read", "write"}),
    "admin": frozenset({"read", "write", "admin"}),
}
MAX_TOKENS_PER_USER = 50
MAX_BOTS_PER_OWNER = 20
MAX_TOKEN_LENGTH = 128
NAME_LENGTH = ApiToken._meta.get_field("name").max_length or 100
# last_used_at is written at most this often per token (not on every request).
LAST_USED_RESOLUTION = timedelta(minutes=1)


class InvalidApiToken(NotAuthenticated):
    """An API token that is malformed, unknown, revoked or expired, or whose user is inactive."""

    code = "token_not_valid"
    default_detail = "Token is invalid, revoked or expired."


class InsufficientScope(PermissionDenied):
    """The API token lacks the scope this request or frame needs."""

    code = "insufficient_scope"
    default_detail = "This token's scopes do not allow this."


class SignInRequired(PermissionDenied):
    """Tokens and bots are created by a person signed in, not with an API token (a token must not
    outlive or outrank the one that made it)."""

    code = "insufficient_scope"
    default_detail = "Create tokens and bots signed in, not with an API token."


def check_not_token(auth: object) -> None:
    """SignInRequired when a request was authenticated by an API token."""
    if isinstance(auth, ApiToken):
        raise SignInRequired()


class TokenNotFound(NotFound):
    default_detail = "No such token."


class BotNotFound(NotFound):
    default_detail = "No such bot."


class TooManyTokens(InvalidInput):
    code = "too_many_tokens"
    default_detail = f"At most {MAX_TOKENS_PER_USER} tokens per account."


class TooManyBots(InvalidInput):
    code = "too_many_bots"
    default_detail = f"At most {MAX_BOTS_PER_OWNER} bots per owner."


@dataclass(frozen=True)
class IssuedToken:
    """A stored token and its secret text, which is never available again."""

    token: ApiToken
    text: str


def granted(scopes: Iterable[str] | None) -> frozenset[str]:
    """Everything a token with ``scopes`` may do (None: not a token, everything)."""
    if scopes is None:
        return frozenset(SCOPES)
    return frozenset().union(*(IMPLIED.get(scope, frozenset()) for scope in scopes))


def scope_check(scopes: object, needed: str) -> None:
    """Raise InsufficientScope unless ``scopes`` (None: not a token) grant ``needed``. Anything but None
    or a list or tuple of scope names (a socket's scope carries what the middleware put there) grants
    nothing."""
    if scopes is None:
        return
    names = [scope for scope in scopes if isinstance(scope, str)] if isinstance(scopes, list | tuple) else []
    if needed not in granted(names):
        raise InsufficientScope(f"This token needs the {needed!r} scope.")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_scopes(scopes: object) -> list[str]:
    if not isinstance(scopes, list | tuple) or not scopes or len(scopes) > len(SCOPES):
        raise FieldErrors({"scopes": [f"A non-empty list of {', '.join(SCOPES)}."]})
    if not all(isinstance(scope, str) and scope in SCOPES for scope in scopes):
        raise FieldErrors({"scopes": [f"Scopes are {', '.join(SCOPES)}."]})
    return sorted(set(scopes), key=SCOPES.index)


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_LENGTH:
        raise FieldErrors({"name": [f"A name of 1 to {NAME_LENGTH} characters."]})
    return name.strip()


def _issue(*, user: User, name: str, scopes: Sequence[str], expires_at: datetime | None) -> IssuedToken:
    name, checked = _check_name(name), _check_scopes(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise FieldErrors({"expires_at": ["Must be in the future."]})
    if ApiToken.objects.filter(user=user).count() >= MAX_TOKENS_PER_USER:
        raise TooManyTokens()
    for _attempt in range(3):
        prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user, name=name, prefix=prefix, digest=_digest(secret), scopes=checked, expires_at=expires_at
                )
        except IntegrityError:
            continue  # a prefix collision: draw again
        return IssuedToken(token=token, text=f"{TOKEN_PREFIX}{prefix}_{secret}")
    raise RuntimeError("Could not draw a free token prefix.")


def api_token_create(
    *, actor: User, name: str, scopes: Sequence[str], expires_at: datetime | None = None
) -> IssuedToken:
    """A new token for ``actor`` itself. Only an administrator gets a token with the admin scope."""
    if ApiToken.Scope.ADMIN in scopes and not actor.is_staff:
        raise PermissionDenied("Only administrators may create tokens with the admin scope.")
    return _issue(user=actor, name=name, scopes=scopes, expires_at=expires_at)


def api_token_list(*, actor: User) -> QuerySet[ApiToken]:
    """The caller's own tokens, newest first (never the secrets)."""
    return ApiToken.objects.filter(user=actor).order_by("-id")


def api_token_revoke(*, actor: User, token_id: int, via: str = AuditEntry.Via.REST) -> None:
    """Delete one of the caller's tokens, or of their bots' (any token: an administrator in the admin);
    its open sockets close with 4401 on every process at once."""
    mine = Q(user=actor) | Q(user__bot_owner=actor)
    token = (
        ApiToken.objects.filter(pk=token_id)
        .filter(Q(pk__isnull=False) if (actor.is_staff and via == AuditEntry.Via.ADMIN) else mine)
        .select_related("user")
        .first()
        if isinstance(token_id, int)
        else None
    )
    if token is None:
        raise TokenNotFound()
    with transaction.atomic():
        token.delete()
        publish(CloseTokenSockets(user_id=token.user_id, token_id=token_id, code=closecodes.TOKEN_INVALID))
        audit.audit_record(
            actor=actor, action="token.revoke", target=token.user, reason=f"token {token.prefix}", via=via
        )


def api_token_authenticate(raw: str) -> ApiToken:
    """The live token ``raw`` is (with its user loaded); InvalidApiToken otherwise. Records the use
    (``last_used_at``) at most once per LAST_USED_RESOLUTION."""
    if not looks_like_api_token(raw) or len(raw) > MAX_TOKEN_LENGTH:
        raise InvalidApiToken()
    prefix, _, secret = raw[len(TOKEN_PREFIX) :].partition("_")
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first() if prefix and secret else None
    # Compare even when no row matched, so a wrong prefix costs the same as a wrong secret.
    stored = token.digest if token is not None else _digest("")
    matches = hmac.compare_digest(stored, _digest(secret))
    if token is None or not matches or not token.user.is_active:
        raise InvalidApiToken()
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        raise InvalidApiToken("Token has expired.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def scoped_user(token: ApiToken) -> User:
    """The token's user as this request may act: without the admin scope, without administrator
    powers (``User.save`` never stores the withheld flags)."""
    user = token.user
    if ApiToken.Scope.ADMIN not in granted(token.scopes) and (user.is_staff or user.is_superuser):
        user.withhold_admin()
    return user


def looks_like_api_token(raw: str) -> bool:
    return raw.startswith(TOKEN_PREFIX)


# Bots


def bot_create(*, actor: User, username: str, display_name: str = "", via: str = AuditEntry.Via.REST) -> User:
    """A bot account owned by ``actor``: no usable password (it signs in with its tokens only)."""
    from users.services import user_create

    if actor.is_guest or actor.is_bot:
        raise PermissionDenied("Guests and bots cannot create bots.")
    if User.objects.filter(bot_owner=actor).count() >= MAX_BOTS_PER_OWNER:
        raise TooManyBots()
    with transaction.atomic():
        bot = user_create(actor=None, username=username, password=None, display_name=display_name)
        bot.is_bot, bot.bot_owner = True, actor
        bot.save(update_fields=["is_bot", "bot_owner"])
        audit.audit_record(actor=actor, action="bot.create", target=bot, via=via)
    return bot


def bot_list(*, actor: User) -> QuerySet[User]:
    return User.objects.filter(bot_owner=actor, is_bot=True).order_by("username")


def bot_get(*, actor: User, bot_id: int) -> User:
    """One of the caller's bots; BotNotFound for anything else (another's bot, a person, nothing)."""
    bot = bot_list(actor=actor).filter(pk=bot_id).first() if isinstance(bot_id, int) else None
    if bot is None:
        raise BotNotFound()
    return bot


def bot_token_create(
    *, actor: User, bot_id: int, name: str, scopes: Sequence[str], expires_at: datetime | None = None
) -> IssuedToken:
    """A token for one of the caller's bots (read or write; a bot is never an administrator)."""
    bot = bot_get(actor=actor, bot_id=bot_id)
    if ApiToken.Scope.ADMIN in scopes:
        raise PermissionDenied("Bots cannot have the admin scope.")
    return _issue(user=bot, name=name, scopes=scopes, expires_at=expires_at)


def bot_delete(*, actor: User, bot_id: int, via: str = AuditEntry.Via.REST) -> None:
    """Delete one of the caller's bots with its tokens; its sockets close with 4403."""
    bot = bot_get(actor=actor, bot_id=bot_id)
    with transaction.atomic():
        audit.audit_record(actor=actor, action="bot.delete", target=bot, via=via)
        bot_pk = bot.pk
        user_deleting.send(sender=User, user=bot)
        bot.delete()
        publish(CloseUserSockets(user_id=bot_pk, code=closecodes.USER_GONE))


def bot_password_refused(user: User) -> bool:
    """Bots never sign in with a password (their password is unusable; this says so explicitly)."""
    return user.is_bot
