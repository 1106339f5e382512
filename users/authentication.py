"""How API requests authenticate: a Bearer access token, or the ``access_token`` cookie.

The cookie is what a browser page sends without JavaScript touching the token, so a request it
authenticates gets Django's CSRF check, exactly as SessionAuthentication does.
"""

from __future__ import annotations

from django.conf import settings
from django.middleware.csrf import CsrfViewMiddleware
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import Token

from users.models import User


class BearerTokenAuthentication(JWTAuthentication):
    """``Authorization: Bearer <access>``; refresh tokens, expired ones and inactive users fail with 401."""


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason: str) -> str:  # type: ignore[override]
        return reason


def enforce_csrf(request: Request) -> None:
    """Raise PermissionDenied unless the request passes Django's CSRF check."""
    check = _CsrfCheck(lambda req: None)
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason:
        raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")


class CookieTokenAuthentication(JWTAuthentication):
    """The ``access_token`` cookie set by the token endpoint; unsafe methods must pass CSRF."""

    def authenticate(self, request: Request) -> tuple[User, Token] | None:
        raw_token = request.COOKIES.get(settings.CHAT_ACCESS_COOKIE)
        if not raw_token:
            return None
        validated = self.get_validated_token(raw_token.encode())
        user = self.get_user(validated)
        enforce_csrf(request)
        return user, validated

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
