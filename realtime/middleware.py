"""WebSocket authentication by the ``token`` query parameter, and the browser Origin policy.

Browsers cannot set headers on a WebSocket, so the access token travels in the query string. The
middleware copies the scope, validates the token with simplejwt's own machinery (or the configured
OpenID Connect provider's keys), and always lets the connection through: a bad credential becomes
AnonymousUser plus ``scope["auth_failure"]``, and the consumer accepts then closes with the right
code so that a browser can read it. Nothing here logs the query string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
from rest_framework import exceptions as drf_exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication

from core.origins import normalize_origin
from realtime.batching import Coalescer
from realtime.handshake_auth import PreloadingJWTAuthentication, authenticate_many
from realtime.protocol import MAX_TOKEN_LENGTH, query_params
from users import api_tokens
from users.models import User
from users.oidc import OidcAuthenticationFailed, oidc_authenticate

USER_GONE = frozenset({"user_inactive", "user_not_found"})


@dataclass(frozen=True)
class SocketLogin:
    """Who a socket belongs to and until when its token is valid (epoch seconds)."""

    user: User
    expires_at: float | None
    # An API token's id and scopes (None: a JWT, not scoped).
    token_id: int | None = None
    scopes: tuple[str, ...] | None = None


class SocketAuthFailed(Exception):
    """The token is missing or refused; ``code`` tells which (``user_inactive``, ``token_not_valid``...)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def authenticate_token(raw_token: str) -> SocketLogin:
    """Validate an access token (the provider's when it is one, ours otherwise) and load its user."""
    if not raw_token:
        raise SocketAuthFailed("not_authenticated")
    if len(raw_token) > MAX_TOKEN_LENGTH:
        raise SocketAuthFailed("token_not_valid")
    if api_tokens.looks_like_api_token(raw_token):
        return _api_token_login(raw_token)
    try:
        login = oidc_authenticate(raw_token)
    except OidcAuthenticationFailed as exc:
        raise SocketAuthFailed(exc.code) from None
    if login is not None:
        return SocketLogin(user=login.user, expires_at=_float(login.get("exp")))
    simplejwt: JWTAuthentication = PreloadingJWTAuthentication()
    try:
        validated = simplejwt.get_validated_token(raw_token.encode())
        # AUTH_USER_MODEL is users.User; simplejwt types what it loads as the abstract base.
        user = cast(User, simplejwt.get_user(validated))
    except drf_exceptions.APIException as exc:
        # simplejwt puts {"detail", "code"} in the detail; DRF's own exceptions carry the code on it.
        detail = exc.detail
        code = detail.get("code") if isinstance(detail, dict) else getattr(detail, "code", None)
        raise SocketAuthFailed(str(code or "token_not_valid")) from None
    return SocketLogin(user=user, expires_at=_float(validated.get("exp")))


def _api_token_login(raw_token: str) -> SocketLogin:
    """A personal access token or a bot's: closes at its expiry like a JWT; scopes go in the scope."""
    try:
        token = api_tokens.api_token_authenticate(raw_token)
    except api_tokens.InvalidApiToken as exc:
        raise SocketAuthFailed(exc.code) from None
    expires_at = token.expires_at.timestamp() if token.expires_at is not None else None
    scopes = tuple(token.scopes)
    return SocketLogin(user=api_tokens.scoped_user(token), expires_at=expires_at, token_id=token.pk, scopes=scopes)


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


@database_sync_to_async
def _authenticate_batch(raw_tokens: list[str]) -> list[SocketLogin | Exception]:
    return authenticate_many(raw_tokens, authenticate_token, max_length=MAX_TOKEN_LENGTH)


# Concurrent handshakes (a connect storm) share one trip to the database thread and one user query.
_authenticate: Coalescer[str, SocketLogin] = Coalescer(_authenticate_batch)


def query_token(scope: dict[str, Any]) -> str:
    """The first ``token`` value of the query string (empty when absent or undecodable)."""
    return query_params(scope).get("token", "")


class QueryTokenAuthMiddleware:
    """Put ``user``, ``token_expires_at`` and ``auth_failure`` in a copy of the scope."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope = dict(scope)
        try:
            login = await _authenticate(query_token(scope))
        except SocketAuthFailed as failure:
            scope.update(user=AnonymousUser(), token_expires_at=None, auth_failure=failure.code)
        else:
            scope.update(user=login.user, token_expires_at=login.expires_at, auth_failure=None)
            scope.update(token_id=login.token_id, token_scopes=login.scopes)
        return await self.inner(scope, receive, send)


def origin_allowed(origin: str) -> bool:
    """True when ``origin`` is one of CHAT_WS_ALLOWED_ORIGINS (scheme, host and port), or, when that list
    is empty, when its host is one of ALLOWED_HOSTS (the WebSocket Origin allow-list)."""
    if not origin or origin == "null":
        return False
    if settings.CHAT_WS_ALLOWED_ORIGINS:
        return normalize_origin(origin) in settings.CHAT_WS_ALLOWED_ORIGINS
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return False
    domain, _port = split_domain_port(parts.netloc)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


class OriginPolicy:
    """Refuse the handshake (403) when a browser's Origin is not allowed; a client without an Origin
    header (native app, CLI, service) goes on to token authentication. Channels' own
    AllowedHostsOriginValidator would refuse those clients, hence this small validator."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        origin = _header(scope, b"origin")
        if origin is not None and not origin_allowed(origin):
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 4403})
            return None
        return await self.inner(scope, receive, send)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
