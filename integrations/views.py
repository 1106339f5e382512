"""The integrations API: a room's incoming webhooks, posting through one, and bots' subscriptions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import PayloadTooLarge
from core.openapi import ERROR
from core.parsers import JSONParser
from core.viewsets import ApiViewSet
from integrations import selectors, services
from integrations.errors import InvalidPayload
from integrations.models import Delivery, IncomingWebhook, Subscription
from integrations.serializers import (
    DeliverySerializer,
    IssuedSubscriptionSerializer,
    IssuedWebhookSerializer,
    SubscriptionCreateSerializer,
    SubscriptionSerializer,
    WebhookCreateSerializer,
    WebhookPostSerializer,
    WebhookSerializer,
)
from messaging.events import message_payload
from users.api_tokens import check_not_token
from users.authentication import AuthenticatedRequest, request_user

MESSAGE = OpenApiResponse(description="The message, as every client sees it")


def _issued(request: Request, issued: services.IssuedWebhook) -> dict[str, Any]:
    path = reverse("webhook-post", kwargs={"webhook_id": issued.webhook.pk, "secret": issued.secret})
    return IssuedWebhookSerializer(issued.webhook, context={"url": request.build_absolute_uri(path)}).data


# /rooms/{slug}/webhooks/: a room's incoming webhooks, for those who may write the room.
class RoomWebhookViewSet(ApiViewSet):
    serializer_class = WebhookSerializer
    lookup_value_converter = "int"

    def get_queryset(self) -> QuerySet[IncomingWebhook]:
        return selectors.webhook_list_for_writer(user=request_user(self.request), room_slug=self.kwargs["slug"])

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return (
            WebhookCreateSerializer if self.request.method == "POST" and self.action == "create" else WebhookSerializer
        )

    @extend_schema(
        summary="The room's incoming webhooks (room writers)",
        responses={200: WebhookSerializer(many=True), 403: ERROR, 404: ERROR},
    )
    def list(self, request: AuthenticatedRequest, slug: str) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WebhookSerializer(page, many=True).data)

    @extend_schema(
        summary="Add an incoming webhook to the room: the answer's url (shown once) posts as its bot",
        request=WebhookCreateSerializer,
        responses={201: IssuedWebhookSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    def create(self, request: AuthenticatedRequest, slug: str) -> Response:
        check_not_token(request.auth)  # a webhook's URL (and its bot) must not outlive an API token
        body = WebhookCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        issued = services.webhook_create(actor=request.user, room_slug=slug, name=body.validated_data["name"])
        return Response(_issued(request, issued), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Remove an incoming webhook (its URL stops working)", responses={204: None, 403: ERROR, 404: ERROR}
    )
    def destroy(self, request: AuthenticatedRequest, slug: str, pk: int) -> Response:
        services.webhook_delete(actor=request.user, room_slug=slug, webhook_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Give the webhook a new secret: the answer's url replaces the old one at once",
        request=None,
        responses={200: IssuedWebhookSerializer, 403: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request: AuthenticatedRequest, slug: str, pk: int) -> Response:
        check_not_token(request.auth)
        issued = services.webhook_rotate(actor=request.user, room_slug=slug, webhook_id=pk)
        return Response(_issued(request, issued))


class WebhookPostView(APIView):
    """POST {"text": "..."} (Slack's shape) or {"content": "..."}: posts into the webhook's room as its bot."""

    authentication_classes: list[Any] = []  # the secret in the URL is the credential (no cookies, no CSRF)
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Post a message through an incoming webhook (the URL's secret is the credential)",
        request=WebhookPostSerializer,
        responses={201: MESSAGE, 400: ERROR, 404: ERROR, 413: ERROR, 429: ERROR},
        auth=[],
    )
    def post(self, request: Request, webhook_id: int, secret: str) -> Response:
        if len(request.body) > settings.CHAT_WEBHOOK_MAX_BODY:
            raise PayloadTooLarge(f"A webhook's body is limited to {settings.CHAT_WEBHOOK_MAX_BODY} bytes.")
        if not request.content_type.startswith("application/json"):
            raise InvalidPayload("Send JSON (Content-Type: application/json).")
        message = services.webhook_post(webhook_id=webhook_id, secret=secret, payload=request.data)
        return Response(message_payload(message), status=status.HTTP_201_CREATED)


# /bots/{id}/subscriptions/: a bot's outgoing webhooks, for its owner.
class BotSubscriptionViewSet(ApiViewSet):
    serializer_class = SubscriptionSerializer
    lookup_value_converter = "int"

    def get_queryset(self) -> QuerySet[Subscription]:
        return selectors.subscription_list_for_owner(
            owner=request_user(self.request), bot_id=int(self.kwargs["bot_id"])
        )

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.request.method == "POST" and self.action == "create":
            return SubscriptionCreateSerializer
        return DeliverySerializer if self.action == "deliveries" else SubscriptionSerializer

    @extend_schema(
        summary="The bot's subscriptions (its owner)", responses={200: SubscriptionSerializer(many=True), 404: ERROR}
    )
    def list(self, request: AuthenticatedRequest, bot_id: int) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SubscriptionSerializer(page, many=True).data)

    @extend_schema(
        summary="Subscribe the bot to events; the answer's secret (shown once) signs every delivery",
        request=SubscriptionCreateSerializer,
        responses={201: IssuedSubscriptionSerializer, 400: ERROR, 404: ERROR},
    )
    def create(self, request: AuthenticatedRequest, bot_id: int) -> Response:
        check_not_token(request.auth)
        body = SubscriptionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription = services.subscription_create(owner=request.user, bot_id=bot_id, **body.validated_data)
        return Response(IssuedSubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Remove a subscription and its delivery log", responses={204: None, 404: ERROR})
    def destroy(self, request: AuthenticatedRequest, bot_id: int, pk: int) -> Response:
        services.subscription_delete(owner=request.user, bot_id=bot_id, subscription_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Turn a disabled subscription back on",
        request=None,
        responses={200: SubscriptionSerializer, 404: ERROR},
    )
    @action(detail=True, methods=["post"])
    def enable(self, request: AuthenticatedRequest, bot_id: int, pk: int) -> Response:
        subscription = services.subscription_enable(owner=request.user, bot_id=bot_id, subscription_id=pk)
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(
        summary=(
            "Give the subscription a new signing secret, shown in this answer only: every delivery from now on "
            "(tries already queued too) is signed with it"
        ),
        request=None,
        responses={200: IssuedSubscriptionSerializer, 403: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["post"], url_path="rotate")
    def rotate_secret(self, request: AuthenticatedRequest, bot_id: int, pk: int) -> Response:
        check_not_token(request.auth)  # a secret is issued to a person signed in, never to an API token
        subscription = services.subscription_rotate_secret(owner=request.user, bot_id=bot_id, subscription_id=pk)
        return Response(IssuedSubscriptionSerializer(subscription).data)

    @extend_schema(
        summary="The subscription's delivery log, newest first (the bot's owner)",
        responses={200: DeliverySerializer(many=True), 404: ERROR},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: AuthenticatedRequest, bot_id: int, pk: int) -> Response:
        log: QuerySet[Delivery] = selectors.delivery_list_for_owner(
            owner=request.user, bot_id=bot_id, subscription_id=pk
        )
        page = self.paginate_queryset(log.select_related("room"))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)
