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
from messaging import events, selectors, services
from messaging.models import Message
from messaging.selectors import PayloadPage
from messaging.serializers import (
    DeletedSerializer,
    HistoryQuerySerializer,
    MessageCreateSerializer,
    MessageEditSerializer,
    MessagePageSerializer,
    MessageSerializer,
    MessageVersionSerializer,
    PurgeQuerySerializer,
    ReactionSerializer,
    ReportCreateSerializer,
    ReportSerializer,
    ThreadFollowSerializer,
    ThreadPageSerializer,
    ThreadQuerySerializer,
    UserSummarySerializer,
    history_query,
    with_is_mine,
)
from messaging.services import moderation
from users.authentication import AuthenticatedRequest, request_user


def _page_links(request: AuthenticatedRequest, page: PayloadPage, limit: int | None) -> tuple[str | None, str | None]:
    base = request.build_absolute_uri(request.path)
    common = {"room": page.room.slug} | ({"limit": limit} if limit else {})
    older = newer = None
    if page.has_older and page.payloads:
        older = f"{base}?{urlencode(common | {'before': page.payloads[0]['seq']})}"
    if page.has_newer and page.payloads:
        newer = f"{base}?{urlencode(common | {'after': page.payloads[-1]['seq']})}"
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
        if self.action == "follow":
            return ThreadFollowSerializer
        if self.action in {"reaction", "pin", "history"}:
            return MessageSerializer  # no body: no form
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
        params = history_query(request.query_params)
        # Payloads straight from column values (no model or serializer per message): MessageSerializer's shape.
        page = selectors.message_payload_page(
            user=request.user,
            room_slug=params.get("room"),
            before=params.get("before"),
            after=params.get("after"),
            limit=params.get("limit"),
        )
        older, newer = _page_links(request, page, params.get("limit"))
        results = with_is_mine(page.payloads, request.user.pk)
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
        summary="A thread: its root, its live replies oldest first (readers of the room)",
        description=(
            "Any message of a thread names the thread (a reply's root is found). `after` is a seq: the "
            "replies after it; `next` is the URL of the next page, or null."
        ),
        parameters=[ThreadQuerySerializer],
        responses={200: ThreadPageSerializer, 400: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["get"])
    def thread(self, request: AuthenticatedRequest, message_id: int) -> Response:
        query = ThreadQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        page = selectors.thread_page(
            user=request.user, message_id=message_id, after=params.get("after"), limit=params.get("limit")
        )
        next_url = None
        if page.has_more and page.replies:
            cursor = {"after": page.replies[-1].seq} | ({"limit": params["limit"]} if "limit" in params else {})
            next_url = f"{request.build_absolute_uri(request.path)}?{urlencode(cursor)}"
        context = {"request": request, "room_slug": page.root.room.slug}
        return Response(
            {
                "root": MessageSerializer(page.root, context=context).data,
                "replies": MessageSerializer(page.replies, many=True, context=context).data,
                "next": next_url,
            }
        )

    @extend_schema(
        methods=["PUT"],
        summary="Follow the thread of a message: thread_reply notifications for its replies",
        request=None,
        responses={200: ThreadFollowSerializer, 404: ERROR, 429: ERROR},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Stop following the thread of a message (also one you wrote in)",
        request=None,
        responses={200: ThreadFollowSerializer, 404: ERROR, 429: ERROR},
    )
    @action(detail=True, methods=["put", "delete"])
    def follow(self, request: AuthenticatedRequest, message_id: int) -> Response:
        root, following = services.thread_follow(
            user=request.user, message_id=message_id, following=request.method == "PUT"
        )
        return Response({"thread_root": root.pk, "following": following})

    @extend_schema(
        summary="Who has read a message: members whose read position is at or past it (at most 200)",
        description=(
            "Members of the room whose `last_read_seq` is at or past the message's seq and who share read "
            "receipts (preference `share_read_receipts`, default true), by username, at most 200."
        ),
        responses={200: UserSummarySerializer(many=True), 404: ERROR},
    )
    @action(detail=True, methods=["get"])
    def readers(self, request: AuthenticatedRequest, message_id: int) -> Response:
        readers = selectors.message_readers(user=request.user, message_id=message_id)
        return Response([events.user_summary(user) for user in readers])

    @extend_schema(
        methods=["PUT"],
        summary="Add your reaction (one emoji or a :short_code:, percent-encoded); idempotent; sockets get reaction",
        request=None,
        responses={200: ReactionSerializer(many=True), 400: ERROR, 403: ERROR, 404: ERROR, 429: ERROR},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Remove your reaction; idempotent; sockets get reaction",
        responses={200: ReactionSerializer(many=True), 400: ERROR, 404: ERROR, 429: ERROR},
    )
    @action(detail=True, methods=["put", "delete"], url_path="reactions/<str:emoji>", url_name="reaction")
    def reaction(self, request: AuthenticatedRequest, message_id: int, emoji: str) -> Response:
        added = request.method == "PUT"
        message = services.reaction_set(actor=request.user, message_id=message_id, emoji=emoji, added=added)
        return Response(message.reaction_summary)

    @extend_schema(
        methods=["PUT"],
        summary="Pin a message (writers of its room); idempotent; sockets get message_pinned",
        request=None,
        responses={200: MessageSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Unpin a message (writers of its room); idempotent; sockets get message_unpinned",
        responses={200: MessageSerializer, 403: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["put", "delete"])
    def pin(self, request: AuthenticatedRequest, message_id: int) -> Response:
        message = services.message_pin(actor=request.user, message_id=message_id, pinned=request.method == "PUT")
        return Response(MessageSerializer(message, context={"request": request}).data)

    @extend_schema(
        summary="Earlier texts of an edited message, oldest first",
        responses={200: MessageVersionSerializer(many=True), 404: ERROR},
    )
    @action(detail=True, methods=["get"])
    def history(self, request: AuthenticatedRequest, message_id: int) -> Response:
        versions = selectors.message_versions(user=request.user, message_id=message_id)
        return Response(MessageVersionSerializer(versions, many=True).data)

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
