"""Shapes of the integrations API. Input serializers check types and bounds; services check the rules."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from integrations import limits
from integrations.models import Delivery, IncomingWebhook, Subscription


class WebhookCreateSerializer(serializers.Serializer[Any]):
    """A new incoming webhook of the room."""

    name = serializers.CharField(max_length=limits.WEBHOOK_NAME)


class WebhookSerializer(serializers.ModelSerializer[IncomingWebhook]):
    """An incoming webhook; ``url`` (with its secret) only in the answers that create or rotate it."""

    room = serializers.CharField(source="room.slug", read_only=True)
    bot = serializers.SerializerMethodField()
    created_by = serializers.IntegerField(source="created_by_id", read_only=True, allow_null=True)

    class Meta:
        model = IncomingWebhook
        fields = ["id", "name", "room", "bot", "created_by", "created_at", "last_used_at"]

    def get_bot(self, webhook: IncomingWebhook) -> dict[str, Any]:
        return {"id": webhook.bot_id, "username": webhook.bot.username}


class IssuedWebhookSerializer(WebhookSerializer):
    """An incoming webhook with its URL: POST ``{"text": ...}`` or ``{"content": ...}`` to it. Shown once."""

    url = serializers.SerializerMethodField()

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "url"]

    def get_url(self, webhook: IncomingWebhook) -> str:
        return str(self.context["url"])


class WebhookPostSerializer(serializers.Serializer[Any]):
    """What an incoming webhook accepts: ``text`` (Slack's shape) or ``content``, one of them."""

    text = serializers.CharField(required=False)
    content = serializers.CharField(required=False)


class SubscriptionCreateSerializer(serializers.Serializer[Any]):
    """A bot's subscription: where to POST which events (of which rooms; none: every room the bot reads)."""

    url = serializers.CharField(max_length=limits.URL)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Subscription.Event.choices), min_length=1, max_length=3
    )
    rooms = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=limits.ROOMS_PER_SUBSCRIPTION
    )
    command = serializers.CharField(max_length=limits.COMMAND + 1, required=False, allow_blank=True)


class SubscriptionSerializer(serializers.ModelSerializer[Subscription]):
    """A subscription as its owner sees it (the secret only in the answer that creates it)."""

    events = serializers.ListField(child=serializers.CharField(), read_only=True)
    rooms = serializers.SerializerMethodField()
    bot = serializers.IntegerField(source="bot_id", read_only=True)

    class Meta:
        model = Subscription
        fields = [
            "id",
            "bot",
            "url",
            "events",
            "rooms",
            "command",
            "is_active",
            "failures_in_a_row",
            "disabled_at",
            "disabled_reason",
            "created_at",
        ]

    def get_rooms(self, subscription: Subscription) -> list[str]:
        return sorted(room.slug for room in subscription.rooms.all())


class IssuedSubscriptionSerializer(SubscriptionSerializer):
    """A new subscription with its signing ``secret`` (shown in this answer only)."""

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    """One delivery of the log: its event, status, tries, the receiver's last answer code and error."""

    event = serializers.CharField(read_only=True, help_text="message, mention or command")
    room = serializers.CharField(source="room.slug", read_only=True)
    message = serializers.IntegerField(source="message_id", read_only=True, allow_null=True)
    reply = serializers.IntegerField(source="reply_id", read_only=True, allow_null=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "room",
            "message",
            "status",
            "attempts",
            "response_code",
            "error",
            "reply",
            "created_at",
            "last_attempt_at",
            "finished_at",
        ]
