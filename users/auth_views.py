"""Token endpoints: issue, refresh (rotating), verify and logout, with the access-token cookie.

The tokens come from ``users.services`` (``token_issue``, ``token_refresh``, ``token_verify``,
``token_revoke``); these views read the body or the cookie and write the cookies.

The JSON body carries both tokens for API clients; browsers also get the access token in an HttpOnly
``access_token`` cookie and the refresh token in an HttpOnly cookie scoped to the auth endpoints, so a
page can stay signed in without JavaScript ever storing a long-lived credential.
"""

from __future__ import annotations

from django.conf import settings
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotAuthenticated
from core.parsers import JSONParser
from users import services
from users.authentication import enforce_csrf
from users.serializers import CredentialsSerializer, RefreshSerializer, TokenPairSerializer, VerifySerializer
from users.throttles import TokenThrottle

AUTH_PATH = "/api/v1/auth/"
UNAUTHORIZED = OpenApiResponse(description="{detail, code}: bad credentials or token")
NOT_JSON = OpenApiResponse(description="{detail, code}: the body must be application/json")


def _tokens_response(tokens: services.TokenPair) -> Response:
    """The pair as JSON for API clients, and as HttpOnly cookies for browsers (the refresh token's
    scoped to the auth endpoints)."""
    response = Response({"access": tokens.access, "refresh": tokens.refresh})
    secure = settings.CHAT_SECURE_COOKIES
    response.set_cookie(
        settings.CHAT_ACCESS_COOKIE,
        tokens.access,
        max_age=settings.CHAT_ACCESS_TOKEN_LIFETIME,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=secure,
    )
    response.set_cookie(
        settings.CHAT_REFRESH_COOKIE,
        tokens.refresh,
        max_age=settings.CHAT_REFRESH_TOKEN_LIFETIME,
        path=AUTH_PATH,
        httponly=True,
        samesite="Lax",
        secure=secure,
    )
    return response


def _clear_token_cookies(response: Response) -> None:
    response.delete_cookie(settings.CHAT_ACCESS_COOKIE, path="/", samesite="Lax")
    response.delete_cookie(settings.CHAT_REFRESH_COOKIE, path=AUTH_PATH, samesite="Lax")


class _PublicAuthView(APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [TokenThrottle]
    # JSON only: a cross-site HTML form can post urlencoded or multipart bodies without a CORS
    # preflight (login CSRF: signing a victim in to the attacker's account), never application/json.
    parser_classes = [JSONParser]

    def get_authenticate_header(self, request: Request) -> str:
        # Without authenticators DRF would turn a bad token into a 403; it is a 401.
        return 'Bearer realm="api"'


class TokenView(_PublicAuthView):
    @extend_schema(
        summary="Get an access and a refresh token (also set as HttpOnly cookies)",
        request=CredentialsSerializer,
        responses={
            200: TokenPairSerializer,
            400: OpenApiResponse(description="Field errors"),
            401: UNAUTHORIZED,
            415: NOT_JSON,
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        credentials = CredentialsSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        tokens = services.token_issue(**credentials.validated_data, request=request._request)
        return _tokens_response(tokens)


class TokenRefreshView(_PublicAuthView):
    @extend_schema(
        summary="Exchange a refresh token (body or cookie) for a new pair; the old one is blacklisted",
        request=RefreshSerializer,
        responses={200: TokenPairSerializer, 401: UNAUTHORIZED, 415: NOT_JSON},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        body = RefreshSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        raw = body.validated_data.get("refresh")
        if not raw:
            raw = request.COOKIES.get(settings.CHAT_REFRESH_COOKIE)
            if not raw:
                raise NotAuthenticated("No refresh token in the body or the refresh_token cookie.")
            enforce_csrf(request)
        return _tokens_response(services.token_refresh(refresh=raw))


class TokenVerifyView(_PublicAuthView):
    @extend_schema(
        summary="Check that a token is valid and not blacklisted",
        request=VerifySerializer,
        responses={200: OpenApiResponse(description="{} when valid"), 401: UNAUTHORIZED, 415: NOT_JSON},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        body = VerifySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.token_verify(token=body.validated_data["token"])
        return Response({})


class LogoutView(_PublicAuthView):
    @extend_schema(
        summary="Blacklist the refresh token (body or cookie) and clear the cookies",
        request=RefreshSerializer,
        responses={200: OpenApiResponse(description='{"detail": "Logged out."}'), 401: UNAUTHORIZED, 415: NOT_JSON},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        body = RefreshSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        raw = body.validated_data.get("refresh")
        if not raw and request.COOKIES.get(settings.CHAT_REFRESH_COOKIE):
            enforce_csrf(request)
            raw = request.COOKIES[settings.CHAT_REFRESH_COOKIE]
        if raw:
            services.token_revoke(refresh=raw)
        response = Response({"detail": "Logged out."})
        _clear_token_cookies(response)
        return response


class CsrfView(APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Set the csrftoken cookie (needed for cookie-authenticated writes) and return its value",
        responses={200: OpenApiResponse(description='{"csrftoken": "..."}')},
        auth=[],
    )
    @method_decorator(ensure_csrf_cookie)
    def get(self, request: Request) -> Response:
        return Response({"csrftoken": get_token(request._request)})
