"""back_chat's REST endpoints as thin adapters: translate the original's shapes, then call the same
services, selectors and views as ``/api/v1/``, so every rule (sign-up, permissions, limits) is the
new API's. Successes answer 200, as the original (FastAPI's default) did; errors are the new API's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compat.shapes import legacy_connected_user, legacy_message
from core.errors import FieldErrors
from core.openapi import ANYONE_OR_JWT
from core.parsers import JSONParser
from messaging import events
from messaging.serializers import (
    AttachmentSerializer,
    HistoryQuerySerializer,
    PurgeQuerySerializer,
    UserSummarySerializer,
)
from messaging.views.files import FileViewSet
from messaging.views.messages import MessageViewSet
from realtime.views import ConnectedClientsView, ConnectedUsersView
from users import selectors, services
from users.authentication import (
    AuthenticatedRequest,
    BearerTokenAuthentication,
    CookieTokenAuthentication,
    OidcBearerAuthentication,
)
from users.serializers import UserCreateSerializer, UserSerializer, UserUpdateSerializer
from users.throttles import SignupThrottle
from users.views import SignupOpenOrAdmin

TAG = "back_chat (deprecated)"
ERROR = OpenApiResponse(description='{"detail": "...", "code": "..."}')
FIELD_ERRORS = OpenApiResponse(description="Field errors: {field: [messages]} (back_chat's name is reported as name)")


def legacy(operation_id: str, summary: str, **kwargs: Any) -> Any:
    """Document a back_chat alias: deprecated, tagged, with a stable operation id."""
    return extend_schema(operation_id=operation_id, summary=summary, deprecated=True, tags=[TAG], **kwargs)


class LegacyUserSerializer(UserSerializer):
    """A user as the new API shows it (same privacy rules), plus back_chat's ``name`` (the username)."""

    name = serializers.CharField(source="username", read_only=True)

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "name"]
        read_only_fields = fields


class LegacyMessageSerializer(serializers.Serializer):
    """Documentation of back_chat's message (built by ``compat.shapes.legacy_message``)."""

    user_id = serializers.CharField(allow_null=True, help_text="The sender's username")
    content = serializers.CharField()
    timestamp = serializers.DateTimeField()
    mtype = serializers.ChoiceField(choices=["message"])
    isMine = serializers.BooleanField()  # back_chat's name
    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    room = serializers.SlugField()
    sender = UserSummarySerializer(allow_null=True)
    attachments = AttachmentSerializer(many=True)


class LegacyUserUpdateSerializer(UserUpdateSerializer):
    """Documentation of ``PUT /v1/users/{id}``: back_chat's fields, or any of PATCH /api/v1/users/{id}/."""

    name = serializers.CharField(max_length=150, required=False, help_text="The username")
    # JSON only here; avatars are uploaded on /api/v1/users/{id}/. (None is how DRF drops an inherited field.)
    avatar = None  # type: ignore[assignment]


USER_ID = OpenApiParameter("user_id", int, OpenApiParameter.PATH)


def _to_new_fields(data: Any) -> Any:
    """back_chat's ``name`` is the new ``username``; every other field passes through unchanged."""
    if not isinstance(data, dict) or "name" not in data:
        return data
    data = dict(data)
    data["username"] = data.pop("name")
    return data


def _renamed(detail: Any) -> Any:
    if isinstance(detail, dict) and "username" in detail:
        return {("name" if key == "username" else key): value for key, value in detail.items()}
    return detail


@contextmanager
def _legacy_field_names() -> Iterator[None]:
    """Report errors about ``username`` (from the serializer or the service) under back_chat's ``name``."""
    try:
        yield
    except ValidationError as exc:
        raise ValidationError(_renamed(exc.detail)) from None
    except FieldErrors as exc:
        raise FieldErrors(_renamed(exc.fields)) from None


class LegacyUserCreateView(APIView):
    """``POST /v1/user`` {name, password, postal_code?, city?}: /api/v1/users/'s sign-up rules."""

    parser_classes = [JSONParser]
    permission_classes = [SignupOpenOrAdmin]
    throttle_classes = [SignupThrottle]

    @legacy(
        "legacy_user_create",
        "back_chat: sign up, or create a user as an admin (use POST /api/v1/users/)",
        request=inline_serializer(
            "LegacyUserCreate",
            fields={
                "name": serializers.CharField(help_text="The username"),
                "password": serializers.CharField(),
                "postal_code": serializers.CharField(required=False),
                "city": serializers.CharField(required=False),
            },
        ),
        responses={200: LegacyUserSerializer, 400: FIELD_ERRORS, 403: ERROR, 415: ERROR, 429: ERROR},
        auth=ANYONE_OR_JWT,
    )
    def post(self, request: Request) -> Response:
        with _legacy_field_names():
            body = UserCreateSerializer(data=_to_new_fields(request.data))
            body.is_valid(raise_exception=True)
            user = services.user_create(actor=request.user, **body.validated_data)
        # The new account as it sees itself: whoever created it has just sent those fields.
        return Response(LegacyUserSerializer(user, context={"request": request, "viewer": user}).data)


class LegacyUserListView(APIView):
    @legacy(
        "legacy_users_list",
        "back_chat: every active user as a bare list (use the paginated GET /api/v1/users/)",
        parameters=[OpenApiParameter("search", str, description="Match on username or display name")],
        responses={200: LegacyUserSerializer(many=True), 401: ERROR},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        users = selectors.user_list(actor=request.user, search=request.query_params.get("search", "")[:150])
        return Response(LegacyUserSerializer(users, many=True, context={"request": request}).data)


class LegacyUserDetailView(APIView):
    """``PUT|DELETE /v1/users/{id}``: /api/v1/users/{id}/'s rules (self or admin; delete: admins)."""

    parser_classes = [JSONParser]

    @legacy(
        "legacy_user_update",
        "back_chat: update a user, only the fields sent (use PATCH /api/v1/users/{id}/)",
        parameters=[USER_ID],
        request=LegacyUserUpdateSerializer,
        responses={200: LegacyUserSerializer, 400: FIELD_ERRORS, 403: ERROR, 404: ERROR},
    )
    def put(self, request: AuthenticatedRequest, user_id: str) -> Response:
        user = selectors.user_get(actor=request.user, user_id=int(user_id))
        with _legacy_field_names():
            body = UserUpdateSerializer(data=_to_new_fields(request.data), partial=True)
            body.is_valid(raise_exception=True)
            user = services.user_update(actor=request.user, user=user, data=dict(body.validated_data))
        return Response(LegacyUserSerializer(user, context={"request": request}).data)

    @legacy(
        "legacy_user_delete",
        "back_chat: delete a user, administrators only (use DELETE /api/v1/users/{id}/)",
        parameters=[USER_ID],
        responses={
            200: inline_serializer(
                "LegacyUserDeleted", fields={"detail": serializers.CharField(), "id": serializers.IntegerField()}
            ),
            403: ERROR,
            404: ERROR,
        },
    )
    def delete(self, request: AuthenticatedRequest, user_id: str) -> Response:
        user = selectors.user_get(actor=request.user, user_id=int(user_id))
        services.user_delete(actor=request.user, user=user)
        return Response({"detail": "User deleted.", "id": int(user_id)})


class LegacyMessagesViewSet(MessageViewSet):
    """``GET|DELETE /v1/messages``: /api/v1/messages/'s history and purge, in back_chat's shape."""

    @legacy(
        "legacy_messages_list",
        "back_chat: the 10 newest messages of general, oldest first, as a bare list (use GET /api/v1/messages/)",
        parameters=[HistoryQuerySerializer],
        responses={200: LegacyMessageSerializer(many=True), 400: ERROR, 401: ERROR, 404: ERROR},
    )
    def list(self, request: AuthenticatedRequest) -> Response:
        page = super().list(request).data["results"]
        # back_chat had no deletion: a deleted message's placeholder is left out.
        return Response([legacy_message(m, is_mine=m["is_mine"]) for m in page if not m["deleted"]])

    @legacy(
        "legacy_messages_purge",
        "back_chat: delete every message for good, administrators only (use DELETE /api/v1/messages/)",
        parameters=[PurgeQuerySerializer],
        responses={200: inline_serializer("LegacyDeleted", fields={"deleted": serializers.IntegerField()}), 403: ERROR},
    )
    def purge(self, request: AuthenticatedRequest) -> Response:
        return super().purge(request)


class LegacyUploadViewSet(FileViewSet):
    """``POST /v1/upload-files/``: /api/v1/files/'s bounded, all-or-nothing upload of ``files`` parts."""

    @legacy(
        "legacy_files_upload",
        'back_chat: upload several files as multipart parts "files" (use POST /api/v1/files/)',
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
            }
        },
        responses={
            200: inline_serializer(
                "LegacyUpload",
                fields={
                    "uploaded_files": serializers.ListField(child=serializers.CharField(), help_text="File names"),
                    "files": serializers.ListField(child=serializers.DictField(), help_text="As POST /api/v1/files/"),
                },
            ),
            400: ERROR,
            413: ERROR,
            415: ERROR,
            429: ERROR,
        },
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        files = super().create(request).data["files"]
        return Response({"uploaded_files": [f["name"] for f in files], "files": files})


class LegacyUserInfoView(APIView):
    """``GET /v1/user-info``: the claims of the token the request authenticated with.

    Token authentication only: a session (an administrator signed in to /admin/) has no claims to
    show, so such a request is unauthenticated here (401).
    """

    authentication_classes = [OidcBearerAuthentication, BearerTokenAuthentication, CookieTokenAuthentication]

    @legacy(
        "legacy_user_info",
        "back_chat: the claims of the caller's validated access token (use GET /api/v1/users/me/)",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The token's claims"), 401: ERROR},
    )
    def get(self, request: Request) -> Response:
        # simplejwt's tokens and users.oidc.OidcLogin both expose the verified claims as ``payload``.
        credential: Any = request.auth
        return Response(dict(credential.payload))


class LegacyConnectedUsersView(ConnectedUsersView):
    @legacy(
        "legacy_connected_users",
        "back_chat: users with an open socket as [{name, status, lastConnection}] (use /api/v1/connected-users/)",
        responses={
            200: inline_serializer(
                "LegacyConnectedUser",
                many=True,
                fields={
                    "name": serializers.CharField(),
                    "status": serializers.ChoiceField(choices=["online"]),
                    "lastConnection": serializers.DateTimeField(),
                },
            ),
            401: ERROR,
        },
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        now = events.timestamp(timezone.now())
        return Response([legacy_connected_user(user, now=now) for user in super().get(request).data])


class LegacyConnectedClientsView(ConnectedClientsView):
    @legacy(
        "legacy_connected_clients",
        'back_chat: every open socket as {"connected_users": ["<user_id>@<ip>:<port>"]} (use /connected_users)',
        responses={
            200: inline_serializer(
                "LegacyConnectedClients",
                fields={"connected_users": serializers.ListField(child=serializers.CharField())},
            ),
            401: ERROR,
        },
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response({"connected_users": super().get(request).data["clients"]})


def legacy_not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Anything else under back_chat's ``/v1/``: JSON, like every API error (Django's page is HTML)."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
