"""Integrations in the admin: webhooks and subscriptions (secrets never shown), the delivery log read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from integrations.models import Delivery, IncomingWebhook, Subscription


@admin.register(IncomingWebhook)
class IncomingWebhookAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "room", "bot", "created_by", "created_at", "last_used_at"]
    list_select_related = ["room", "bot", "created_by"]
    search_fields = ["name", "room__slug", "bot__username"]
    readonly_fields = ["room", "bot", "created_by", "created_at", "last_used_at"]
    exclude = ["secret_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created over the API, which shows the secret once


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["id", "bot", "url", "events", "command", "is_active", "failures_in_a_row", "disabled_at"]
    list_filter = ["is_active", "on_message", "on_mention", "on_command"]
    list_select_related = ["bot"]
    search_fields = ["url", "bot__username", "command"]
    readonly_fields = ["bot", "url", "created_at", "disabled_at", "disabled_reason", "failures_in_a_row"]
    exclude = ["secret"]
    filter_horizontal = ["rooms"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "subscription", "event", "room", "status", "attempts", "response_code", "created_at"]
    list_filter = ["status", "event"]
    list_select_related = ["subscription", "room"]
    readonly_fields = [field.name for field in Delivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
