"""The caller's notifications: list, mark read, and send one to other users."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging import selectors, services
from messaging.models import Notification
from messaging.serializers import (
    NotificationQuerySerializer,
    NotificationReadSerializer,
    NotificationSendSerializer,
    NotificationSerializer,
)

ERROR = OpenApiResponse(description='{"detail": "...", "code": "..."}')


class NotificationListView(GenericAPIView):
    serializer_class = NotificationSerializer

    def get_queryset(self) -> QuerySet[Notification]:
        """The caller's notifications, unread only with ?unread=1 (400 for a malformed value)."""
        query = NotificationQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.notification_list(user=self.request.user, unread_only=query.validated_data["unread"])

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        """The browsable API's form for POST shows what POST takes."""
        return NotificationSendSerializer if self.request.method == "POST" else NotificationSerializer

    @extend_schema(
        summary="Your notifications, newest first (?unread=1 for unread only)",
        parameters=[NotificationQuerySerializer],
        responses={200: NotificationSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)

    @extend_schema(
        summary='Notify users who share a room with you, or everyone ("all", administrators)',
        request=NotificationSendSerializer,
        responses={201: OpenApiResponse(description='{"sent": n}'), 400: ERROR, 403: ERROR, 429: ERROR},
    )
    def post(self, request: Request) -> Response:
        body = NotificationSendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        created = services.notification_send(sender=request.user, **body.validated_data)
        return Response({"sent": len(created)}, status=status.HTTP_201_CREATED)


class NotificationReadView(APIView):
    @extend_schema(
        summary='Mark notifications read: {"ids": [...]} or {"all": true}',
        request=NotificationReadSerializer,
        responses={200: OpenApiResponse(description='{"updated": n}'), 400: ERROR},
    )
    def post(self, request: Request) -> Response:
        body = NotificationReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        updated = services.notifications_mark_read(
            user=request.user, ids=body.validated_data.get("ids"), everything=body.validated_data["all"]
        )
        return Response({"updated": updated})
