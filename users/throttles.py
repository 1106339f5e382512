"""Rate limits on the endpoints that attackers hammer: sign-up and token issue."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView


class SignupThrottle(AnonRateThrottle):
    """Per client IP, for everyone (an admin creating users is not throttled by the view)."""

    scope = "signup"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.user and request.user.is_staff:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenThrottle(AnonRateThrottle):
    """Per client IP: password guessing and refresh storms."""

    scope = "token"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
