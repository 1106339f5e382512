"""The caller's notifications: list, mark read, and send one to other users."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.openapi import ERROR
from core.viewsets import ApiViewSet
from messaging import selectors, services
from messaging.models import Notification
from messaging.serializers import (
    NotificationQuerySerializer,
    NotificationReadSerializer,
    NotificationSendSerializer,
    NotificationSerializer,
)
from users.authentication import AuthenticatedRequest, request_user

# The serializer of each (action, method) the browsable API builds a form for.
FORMS: dict[tuple[str | None, str | None], type[serializers.BaseSerializer[Any]]] = {
    ("create", "POST"): NotificationSendSerializer,
    ("read", "POST"): NotificationReadSerializer,
}


# /notifications/: the caller's notifications, and sending some to others. (No class docstring:
# drf-spectacular would copy it into every operation's description.)
class NotificationViewSet(ApiViewSet):
    serializer_class = NotificationSerializer

    def get_queryset(self) -> QuerySet[Notification]:
        """The caller's notifications, unread only with ?unread=1 (400 for a malformed value)."""
        query = NotificationQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        user = request_user(self.request)
        return selectors.notification_list(user=user, unread_only=query.validated_data["unread"])

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        """The browsable API's forms show what each method takes."""
        return FORMS.get((self.action, self.request.method), NotificationSerializer)

    @extend_schema(
        summary="Your notifications, newest first (?unread=1 for unread only)",
        parameters=[NotificationQuerySerializer],
        responses={200: NotificationSerializer(many=True)},
    )
    def list(self, request: AuthenticatedRequest) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)

    @extend_schema(
        summary='Notify users who share a room with you, or everyone ("all", administrators)',
        request=NotificationSendSerializer,
        responses={201: OpenApiResponse(description='{"sent": n}'), 400: ERROR, 403: ERROR, 429: ERROR},
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        body = NotificationSendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        created = services.notification_send(sender=request.user, **body.validated_data)
        return Response({"sent": len(created)}, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary='Mark notifications read: {"ids": [...]} or {"all": true}',
        request=NotificationReadSerializer,
        responses={200: OpenApiResponse(description='{"updated": n}'), 400: ERROR},
    )
    @action(detail=False, methods=["post"])
    def read(self, request: AuthenticatedRequest) -> Response:
        body = NotificationReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        updated = services.notifications_mark_read(
            user=request.user, ids=body.validated_data.get("ids"), everything=body.validated_data["all"]
        )
        return Response({"updated": updated})
