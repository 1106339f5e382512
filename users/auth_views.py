"""Token endpoints: issue, refresh (rotating), verify and logout, with the access-token cookie.

The JSON body carries both tokens for API clients; browsers also get the access token in an HttpOnly
``access_token`` cookie and the refresh token in an HttpOnly cookie scoped to the auth endpoints, so a
page can stay signed in without JavaScript ever storing a long-lived credential.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.core.exceptions import ObjectDoesNotExist
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken, UntypedToken

from core.errors import NotAuthenticated
from core.parsers import JSONParser
from users.authentication import enforce_csrf
from users.serializers import CredentialsSerializer, RefreshSerializer, TokenPairSerializer, VerifySerializer
from users.throttles import TokenThrottle

AUTH_PATH = "/api/v1/auth/"
UNAUTHORIZED = OpenApiResponse(description="{detail, code}: bad credentials or token")
NOT_JSON = OpenApiResponse(description="{detail, code}: the body must be application/json")


class InvalidCredentials(NotAuthenticated):
    """Username and password do not match an active account."""

    code = "invalid_credentials"
    default_detail = "No active account found with the given credentials."


def _set_token_cookies(response: Response, *, access: str, refresh: str | None) -> None:
    common = {"httponly": True, "samesite": "Lax", "secure": settings.CHAT_SECURE_COOKIES}
    response.set_cookie(
        settings.CHAT_ACCESS_COOKIE, access, max_age=settings.CHAT_ACCESS_TOKEN_LIFETIME, path="/", **common
    )
    if refresh:
        response.set_cookie(
            settings.CHAT_REFRESH_COOKIE,
            refresh,
            max_age=settings.CHAT_REFRESH_TOKEN_LIFETIME,
            path=AUTH_PATH,
            **common,
        )


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
        user = authenticate(request._request, **credentials.validated_data)
        if user is None or not user.is_active:
            raise InvalidCredentials()
        refresh = RefreshToken.for_user(user)
        access = str(refresh.access_token)
        response = Response({"access": access, "refresh": str(refresh)})
        _set_token_cookies(response, access=access, refresh=str(refresh))
        update_last_login(None, user)
        return response


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
        serializer = TokenRefreshSerializer(data={"refresh": raw})
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(str(exc)) from None
        except ObjectDoesNotExist:
            # simplejwt looks the token's user up with .get(): a deleted user's token is no longer valid.
            raise InvalidToken("The token's user no longer exists.") from None
        tokens = serializer.validated_data
        response = Response({"access": tokens["access"], "refresh": tokens.get("refresh", raw)})
        _set_token_cookies(response, access=tokens["access"], refresh=tokens.get("refresh"))
        return response


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
        try:
            token = UntypedToken(body.validated_data["token"])
            if token.get("token_type") == "refresh":
                RefreshToken(body.validated_data["token"]).check_blacklist()
        except TokenError as exc:
            raise InvalidToken(str(exc)) from None
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
            try:
                RefreshToken(raw).blacklist()
            except TokenError as exc:
                raise InvalidToken(str(exc)) from None
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
