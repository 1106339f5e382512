"""How API requests authenticate: a Bearer access token, or the ``access_token`` cookie.

The cookie is what a browser page sends without JavaScript touching the token, so a request it
authenticates gets Django's CSRF check, exactly as SessionAuthentication does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed as JwtAuthenticationFailed
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from core.errors import NotAuthenticated
from core.prepared import fits_bigint
from users import api_tokens
from users.models import ApiToken, User
from users.oidc import OidcAuthenticationFailed, OidcLogin, oidc_authenticate
from users.selectors import user_by_pk

if TYPE_CHECKING:

    class AuthenticatedRequest(Request):
        """A request that passed ``IsAuthenticated`` (the API's default permission): its user is stored.

        For the type checker only; at run time it is DRF's Request."""

        @property
        def user(self) -> User: ...

        @user.setter
        def user(self, value: User) -> None: ...

else:
    AuthenticatedRequest = Request


def request_user(request: HttpRequest | Request) -> User:
    """The signed-in user of a request that passed authentication (a view behind ``IsAuthenticated``,
    the admin), typed as such; NotAuthenticated if there is none."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


class FreshUserJWTAuthentication(JWTAuthentication):
    """simplejwt's token check, the user read with one query compiled once (``users.selectors.user_by_pk``)
    instead of a queryset built and compiled per request; the same refusals, in simplejwt's words."""

    # simplejwt returns a constrained TypeVar (AbstractBaseUser or TokenUser) that no override can name.
    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]
        try:  # the claim (a string) as the ORM would take it
            user_id = User._meta.pk.get_prep_value(validated_token.get(jwt_settings.USER_ID_CLAIM))
        except (TypeError, ValueError):
            user_id = None
        if jwt_settings.USER_ID_FIELD != "id" or user_id is None:
            return cast(User, super().get_user(validated_token))  # anything unusual: simplejwt's own lookup
        user = user_by_pk(user_id=user_id) if fits_bigint(user_id) else None
        if user is None:
            raise JwtAuthenticationFailed(_("User not found"), code="user_not_found")
        if jwt_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise JwtAuthenticationFailed(_("User is inactive"), code="user_inactive")
        revoke_claim = validated_token.get(jwt_settings.REVOKE_TOKEN_CLAIM)
        if jwt_settings.CHECK_REVOKE_TOKEN and revoke_claim != get_md5_hash_password(user.password):
            raise JwtAuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user


class BearerTokenAuthentication(FreshUserJWTAuthentication):
    """``Authorization: Bearer <access>``; refresh tokens, expired ones and inactive users fail with 401."""


class _CsrfCheck(CsrfViewMiddleware):
    """Django's CSRF check, answering the reason of a refusal instead of a 403 page."""

    def _reject(self, request: HttpRequest, reason: str) -> str:
        return reason


def _no_view(request: HttpRequest) -> HttpResponse:
    """Stands for the view and the rest of the chain, which the check never calls."""
    raise NotImplementedError


def enforce_csrf(request: Request) -> None:
    """Raise PermissionDenied unless the request passes Django's CSRF check."""
    check = _CsrfCheck(_no_view)
    check.process_request(request)
    reason = check.process_view(request, _no_view, (), {})
    if reason:
        raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")


class CookieTokenAuthentication(FreshUserJWTAuthentication):
    """The ``access_token`` cookie set by the token endpoint; unsafe methods must pass CSRF."""

    # simplejwt returns a constrained TypeVar (AbstractBaseUser or TokenUser) that no override can name.
    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, Token] | None:  # type: ignore[override]
        raw_token = request.COOKIES.get(settings.CHAT_ACCESS_COOKIE)
        if not raw_token:
            return None
        try:
            validated = self.get_validated_token(raw_token.encode())
            user = self.get_user(validated)
        except exceptions.AuthenticationFailed:
            # A stale cookie (expired, user gone, key rotated) must not break anonymous endpoints
            # such as sign-up or the token endpoint: treat the request as carrying no credential.
            return None
        enforce_csrf(request)
        return user, validated

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class OidcBearerAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` from our OpenID Connect provider (see ``users.oidc``).

    Listed before BearerTokenAuthentication: a token that is not the provider's (ours, or another
    issuer's) gets None here and falls through to simplejwt, which accepts or refuses it as before.
    """

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User, OidcLogin] | None:
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != self.keyword:
            return None  # missing or malformed: simplejwt reports it in its usual words
        try:
            login = oidc_authenticate(parts[1].decode("latin-1"))
        except OidcAuthenticationFailed as exc:
            # DRF's own exception, so DRF marks the request unauthenticated and answers 401.
            raise exceptions.AuthenticationFailed(exc.detail, code=exc.code) from None
        if login is None:
            return None
        return login.user, login

    def authenticate_header(self, request: Request) -> str:
        # The first class's header decides 401 over 403 for every unauthenticated request.
        return 'Bearer realm="api"'


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer chat_...``: a personal access token or a bot's (``users.api_tokens``).

    First in the list; any other Bearer token gets None here and goes on to the JWT classes. Scopes are
    enforced here, for every view: a token without ``write`` may only use safe methods (403
    ``insufficient_scope``), and without ``admin`` its user acts without administrator powers."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != self.keyword:
            return None
        raw = parts[1].decode("latin-1")
        if not api_tokens.looks_like_api_token(raw):
            return None
        try:
            token = api_tokens.api_token_authenticate(raw)
        except api_tokens.InvalidApiToken as exc:
            raise exceptions.AuthenticationFailed(exc.detail, code=exc.code) from None
        needed = "read" if request.method in ("GET", "HEAD", "OPTIONS") else "write"
        if needed not in api_tokens.granted(token.scopes):
            raise exceptions.PermissionDenied(f"This token needs the {needed!r} scope.", code="insufficient_scope")
        return api_tokens.scoped_user(token), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
