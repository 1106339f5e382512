"""Messages: history by seq cursors, send (idempotent on client_id), edit, delete, purge."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.openapi import ERROR
from core.viewsets import ApiViewSet
from messaging import selectors, services
from messaging.models import Message
from messaging.selectors import MessagePage
from messaging.serializers import (
    DeletedSerializer,
    HistoryQuerySerializer,
    MessageCreateSerializer,
    MessageEditSerializer,
    MessagePageSerializer,
    MessageSerializer,
    PurgeQuerySerializer,
    ReportCreateSerializer,
    ReportSerializer,
)
from messaging.services import moderation
from users.authentication import AuthenticatedRequest, request_user


def _page_links(request: AuthenticatedRequest, page: MessagePage, limit: int | None) -> tuple[str | None, str | None]:
    base = request.build_absolute_uri(request.path)
    common = {"room": page.room.slug} | ({"limit": limit} if limit else {})
    older = newer = None
    if page.has_older and page.messages:
        older = f"{base}?{urlencode(common | {'before': page.messages[0].seq})}"
    if page.has_newer and page.messages:
        newer = f"{base}?{urlencode(common | {'after': page.messages[-1].seq})}"
    return older, newer


# /messages/: history (by seq cursors, not page numbers), send and purge; /messages/{message_id}/: one message.
# (No class docstring: drf-spectacular would copy it into every operation's description.)
class MessageViewSet(ApiViewSet):
    lookup_url_kwarg = "message_id"
    lookup_value_converter = "int"
    pagination_class = None  # history pages by seq cursors (``before``/``after``)
    serializer_class = MessageSerializer

    def get_queryset(self) -> QuerySet[Message]:
        """Messages the caller may read (the browsable API builds its filter form from this); history
        pages come from ``selectors.message_page``."""
        return selectors.message_list_for_user(user=request_user(self.request))

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        """The browsable API's forms show what each method takes."""
        if self.action == "reports":
            return ReportCreateSerializer
        if self.request.method == "POST":
            return MessageCreateSerializer
        if self.request.method in {"PATCH", "PUT"}:
            return MessageEditSerializer
        return MessageSerializer

    @extend_schema(
        operation_id="messages_list",
        summary="History of a room (default: the 10 newest of general), oldest first, with is_mine",
        parameters=[HistoryQuerySerializer],
        responses={200: MessagePageSerializer, 400: ERROR, 401: ERROR, 404: ERROR},
    )
    def list(self, request: AuthenticatedRequest) -> Response:
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        page = selectors.message_page(
            user=request.user,
            room_slug=params.get("room"),
            before=params.get("before"),
            after=params.get("after"),
            limit=params.get("limit"),
        )
        older, newer = _page_links(request, page, params.get("limit"))
        context = {"request": request, "room_slug": page.room.slug}
        results = MessageSerializer(page.messages, many=True, context=context).data
        return Response({"results": results, "next": newer, "previous": older})

    @extend_schema(
        summary="Send a message; the same client_id again returns the stored message (200)",
        request=MessageCreateSerializer,
        responses={201: MessageSerializer, 200: MessageSerializer, 400: ERROR, 404: ERROR, 409: ERROR, 429: ERROR},
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        body = MessageCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = services.message_send(
            sender=request.user,
            room_slug=data.get("room"),
            content=data["content"],
            client_id=data.get("client_id"),
            attachment_ids=data.get("attachments", []),
            reply_to_id=data.get("reply_to"),
        )
        payload = MessageSerializer(result.message, context={"request": request}).data
        return Response(payload, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    @extend_schema(
        operation_id="messages_purge",
        summary="Delete every message (or a room's) for good (administrators)",
        parameters=[PurgeQuerySerializer],
        responses={200: DeletedSerializer, 403: ERROR, 404: ERROR},
    )
    def purge(self, request: AuthenticatedRequest) -> Response:
        query = PurgeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        room = None
        if "room" in query.validated_data:
            room = selectors.room_get_for_user(user=request.user, slug=query.validated_data["room"])
        deleted = services.messages_purge(actor=request.user, room=room)
        return Response({"deleted": deleted})

    @extend_schema(summary="One message", responses={200: MessageSerializer, 404: ERROR})
    def retrieve(self, request: AuthenticatedRequest, message_id: int) -> Response:
        message = selectors.message_get_for_user(user=request.user, message_id=message_id)
        return Response(MessageSerializer(message, context={"request": request}).data)

    @extend_schema(
        summary="Edit a message (author or administrator); sockets get message_updated",
        request=MessageEditSerializer,
        responses={200: MessageSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    def partial_update(self, request: AuthenticatedRequest, message_id: int) -> Response:
        body = MessageEditSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        message = services.message_edit(
            actor=request.user, message_id=message_id, content=body.validated_data["content"]
        )
        return Response(MessageSerializer(message, context={"request": request}).data)

    @extend_schema(
        summary="Delete a message (author or administrator); sockets get message_deleted",
        responses={204: None, 403: ERROR, 404: ERROR},
    )
    def destroy(self, request: AuthenticatedRequest, message_id: int) -> Response:
        services.message_delete(actor=request.user, message_id=message_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Report a message to its room's moderators (one open report per message and reporter)",
        request=ReportCreateSerializer,
        responses={201: ReportSerializer, 400: ERROR, 404: ERROR, 409: ERROR, 429: ERROR},
    )
    @action(detail=True, methods=["post"])
    def reports(self, request: AuthenticatedRequest, message_id: int) -> Response:
        body = ReportCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = moderation.report_create(actor=request.user, message_id=message_id, **body.validated_data)
        return Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED)
