"""Users API: thin adapters from HTTP to users.services and users.selectors."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.db.models.fields.files import FieldFile
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema, extend_schema_view
from rest_framework import permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from core.openapi import ANYONE_OR_JWT, ERROR
from core.parsers import JSONParser
from core.viewsets import ApiViewSet
from users import api_tokens, audit, selectors, services
from users.authentication import AuthenticatedRequest, request_user
from users.models import ApiToken, AuditEntry, User
from users.serializers import (
    ApiTokenCreateSerializer,
    ApiTokenIssuedSerializer,
    ApiTokenSerializer,
    AuditPageSerializer,
    AuditQuerySerializer,
    BotCreateSerializer,
    ConfigurationSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from users.throttles import SignupThrottle

ERRORS = {
    400: OpenApiResponse(description="Field errors: {field: [messages]}"),
    401: OpenApiResponse(description="{detail, code}: missing or invalid token"),
    403: OpenApiResponse(description="{detail, code}: not allowed"),
    404: OpenApiResponse(description="{detail, code}: no such user"),
}
# Served types follow the stored suffix (the API names avatars by their decoded format); anything else,
# such as a file an operator uploaded in the admin, goes out as opaque bytes.
AVATAR_CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


class SignupOpenOrAdmin(permissions.BasePermission):
    """Anyone may sign up while CHAT_SIGNUP_OPEN is true; otherwise only admins create users."""

    message = "Sign-up is closed; ask an administrator for an account."

    def has_permission(self, request: Request, view: object) -> bool:
        return settings.CHAT_SIGNUP_OPEN or bool(request.user and request.user.is_staff)


@extend_schema_view(
    list=extend_schema(
        summary="List users",
        parameters=[
            OpenApiParameter("search", str, description="Match on username or display name"),
            OpenApiParameter("include_inactive", bool, description="Admins only: also list inactive users"),
        ],
    ),
    retrieve=extend_schema(summary="Get a user", responses={200: UserSerializer, **ERRORS}),
    create=extend_schema(
        summary="Sign up, or create a user as an admin",
        request=UserCreateSerializer,
        responses={
            201: UserSerializer,
            400: ERRORS[400],
            403: ERRORS[403],
            429: OpenApiResponse(description="Throttled"),
        },
        auth=ANYONE_OR_JWT,
    ),
    update=extend_schema(
        summary="Update a user (the user themself or an admin)",
        request=UserUpdateSerializer,
        responses={200: UserSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        summary="Partly update a user (the user themself or an admin)",
        request=UserUpdateSerializer,
        responses={200: UserSerializer, **ERRORS},
    ),
    destroy=extend_schema(
        summary="Delete a user (admins); their sockets close with 4403", responses={204: None, **ERRORS}
    ),
)
class UserViewSet(ApiViewSet):
    lookup_value_regex = r"\d+"
    serializer_class = UserSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    action_permissions = {"create": [SignupOpenOrAdmin]}
    action_throttles = {"create": [SignupThrottle]}

    def get_queryset(self) -> QuerySet[User]:
        """Users the caller may list (the browsable API builds its forms from this)."""
        return selectors.user_list(actor=request_user(self.request))

    def list(self, request: AuthenticatedRequest) -> Response:
        users = selectors.user_list(
            actor=request.user,
            search=request.query_params.get("search", "")[:150],
            include_inactive=request.query_params.get("include_inactive") in {"1", "true"},
        )
        page = self.paginate_queryset(users)
        return self.get_paginated_response(UserSerializer(page, many=True, context={"request": request}).data)

    def create(self, request: Request) -> Response:
        serializer = UserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_create(actor=request.user, **serializer.validated_data)
        # The new account as it sees itself: whoever created it has just sent those fields.
        context = {"request": request, "viewer": user}
        return Response(UserSerializer(user, context=context).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: AuthenticatedRequest, pk: str) -> Response:
        user = selectors.user_get(actor=request.user, user_id=int(pk))
        return Response(UserSerializer(user, context={"request": request}).data)

    def update(self, request: AuthenticatedRequest, pk: str) -> Response:
        return self._update(request, selectors.user_get(actor=request.user, user_id=int(pk)), UserSerializer)

    def partial_update(self, request: AuthenticatedRequest, pk: str) -> Response:
        return self.update(request, pk)

    def destroy(self, request: AuthenticatedRequest, pk: str) -> Response:
        user = selectors.user_get(actor=request.user, user_id=int(pk))
        services.user_delete(actor=request.user, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="A user's avatar image (404 when they have none)",
        responses={
            (200, "image/*"): OpenApiTypes.BINARY,
            401: ERRORS[401],
            404: OpenApiResponse(description="{detail, code}: no such user, or no avatar"),
        },
    )
    @action(detail=True, methods=["get"], url_path="avatar")
    def avatar(self, request: AuthenticatedRequest, pk: str) -> FileResponse:
        return avatar_response(selectors.user_avatar_get(actor=request.user, user_id=int(pk)))

    @extend_schema(
        methods=["GET"],
        summary="The caller's configuration (profile and preferences)",
        responses={200: ConfigurationSerializer, 401: ERRORS[401]},
    )
    @extend_schema(
        methods=["PATCH"],
        summary="Change the caller's configuration; preferences are merged and validated",
        request=UserUpdateSerializer,
        responses={200: ConfigurationSerializer, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403]},
    )
    @action(detail=False, methods=["get", "patch"], url_path="me")
    def me(self, request: AuthenticatedRequest) -> Response:
        if request.method == "GET":
            return Response(ConfigurationSerializer(request.user, context={"request": request}).data)
        return self._update(request, request.user, ConfigurationSerializer)

    def _update(self, request: AuthenticatedRequest, user: User, output_serializer: type[UserSerializer]) -> Response:
        serializer = UserUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(actor=request.user, user=user, data=dict(serializer.validated_data))
        return Response(output_serializer(user, context={"request": request}).data)


def avatar_response(avatar: FieldFile) -> FileResponse:
    """An avatar as an image no browser runs or sniffs, cached by the viewer only; AvatarNotFound when
    the file is missing on disk."""
    try:
        stored = avatar.open("rb")
    except FileNotFoundError:
        raise selectors.AvatarNotFound() from None
    content_type = AVATAR_CONTENT_TYPES.get(PurePath(avatar.name or "").suffix.lower(), "application/octet-stream")
    response = FileResponse(stored, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def token_payload(token: ApiToken) -> dict[str, object]:
    return ApiTokenSerializer(token).data


def issued_payload(issued: api_tokens.IssuedToken) -> dict[str, object]:
    return {**token_payload(issued.token), "token": issued.text}


# /tokens/: the caller's personal access tokens.
class ApiTokenViewSet(ApiViewSet):
    serializer_class = ApiTokenCreateSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[ApiToken]:
        return api_tokens.api_token_list(actor=request_user(self.request))

    @extend_schema(
        summary="Your personal access tokens (never their secrets)", responses={200: ApiTokenSerializer(many=True)}
    )
    def list(self, request: AuthenticatedRequest) -> Response:
        page = self.paginate_queryset(api_tokens.api_token_list(actor=request.user)) or []
        return self.get_paginated_response([token_payload(token) for token in page])

    @extend_schema(
        summary="Create a personal access token; `token` is shown in this answer only",
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenIssuedSerializer, 400: ERRORS[400], 403: ERROR},
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        api_tokens.check_not_token(request.auth)
        body = ApiTokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        issued = api_tokens.api_token_create(actor=request.user, **body.validated_data)
        return Response(issued_payload(issued), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke a token (yours or your bot's); sockets signed in with it close with 4401",
        responses={204: None, 404: ERROR},
    )
    def destroy(self, request: AuthenticatedRequest, pk: str) -> Response:
        api_tokens.api_token_revoke(actor=request.user, token_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# /bots/: bot accounts owned by the caller, and their tokens.
class BotViewSet(ApiViewSet):
    serializer_class = BotCreateSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[User]:
        return api_tokens.bot_list(actor=request_user(self.request))

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return ApiTokenCreateSerializer if self.action == "tokens" else BotCreateSerializer

    @extend_schema(summary="Your bots", responses={200: UserSerializer(many=True)})
    def list(self, request: AuthenticatedRequest) -> Response:
        page = self.paginate_queryset(api_tokens.bot_list(actor=request.user))
        return self.get_paginated_response(UserSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(
        summary="Create a bot owned by you (it signs in with tokens only)",
        request=BotCreateSerializer,
        responses={201: UserSerializer, 400: ERRORS[400], 403: ERROR},
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        api_tokens.check_not_token(request.auth)
        body = BotCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        bot = api_tokens.bot_create(actor=request.user, **body.validated_data)
        return Response(UserSerializer(bot, context={"request": request}).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="One of your bots", responses={200: UserSerializer, 404: ERROR})
    def retrieve(self, request: AuthenticatedRequest, pk: str) -> Response:
        bot = api_tokens.bot_get(actor=request.user, bot_id=int(pk))
        return Response(UserSerializer(bot, context={"request": request}).data)

    @extend_schema(summary="Delete one of your bots and its tokens", responses={204: None, 404: ERROR})
    def destroy(self, request: AuthenticatedRequest, pk: str) -> Response:
        api_tokens.bot_delete(actor=request.user, bot_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Create a token for one of your bots (read or write); `token` is shown once",
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenIssuedSerializer, 400: ERRORS[400], 403: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["post"])
    def tokens(self, request: AuthenticatedRequest, pk: str) -> Response:
        api_tokens.check_not_token(request.auth)
        body = ApiTokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        issued = api_tokens.bot_token_create(actor=request.user, bot_id=int(pk), **body.validated_data)
        return Response(issued_payload(issued), status=status.HTTP_201_CREATED)


# /audit/: the audit log, for workspace administrators (an API token needs the admin scope).
class AuditViewSet(ApiViewSet):
    serializer_class = AuditQuerySerializer
    pagination_class = None  # pages by an id cursor (``before``)

    def get_queryset(self) -> QuerySet[AuditEntry]:
        return audit.audit_list(actor=request_user(self.request))

    @extend_schema(
        summary="The audit log, newest first; `next` continues with older entries",
        parameters=[AuditQuerySerializer],
        responses={200: AuditPageSerializer, 400: ERROR, 403: ERROR},
    )
    def list(self, request: AuthenticatedRequest) -> Response:
        query = AuditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = dict(query.validated_data)
        limit = params.pop("limit")
        entries = list(
            audit.audit_list(
                actor=request.user,
                actor_id=params.get("actor"),
                action=params.get("action", ""),
                room=params.get("room", ""),
                before=params.get("before"),
            )[: limit + 1]
        )
        next_url = None
        if len(entries) > limit:
            entries = entries[:limit]
            following = request.query_params.copy()
            following["before"] = str(entries[-1].pk)
            next_url = request.build_absolute_uri(f"{request.path}?{following.urlencode()}")
        return Response({"results": [audit.audit_payload(entry) for entry in entries], "next": next_url})
