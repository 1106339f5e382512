"""Integrations in the admin: webhooks and subscriptions (stored secrets never shown; a subscription's new
secret once, on the page that answers its rotation), the delivery log read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse

from integrations.models import Delivery, IncomingWebhook, Subscription
from integrations.services import subscription_secret_replace
from users.authentication import request_user
from users.models import AuditEntry


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
    actions = ["rotate_secret"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(
        description="Give the selected subscriptions new signing secrets (shown once)", permissions=["change"]
    )
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> TemplateResponse:
        # Answered with a page of its own, not a message: a message would wait for display in the session
        # or a cookie, and the secrets must be stored nowhere but sealed in their rows.
        actor = request_user(request)
        rotated = [
            subscription_secret_replace(actor=actor, subscription=subscription, via=AuditEntry.Via.ADMIN)
            for subscription in queryset.select_related("bot").order_by("pk")
        ]
        context = {
            **self.admin_site.each_context(request),
            "subscriptions": rotated,
            "back": reverse("admin:integrations_subscription_changelist"),
        }
        # The admin's views are never cached (no-store), this page included.
        return TemplateResponse(request, "admin/integrations/subscription/rotated_secrets.html", context)


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
