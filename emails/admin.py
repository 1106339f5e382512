"""Read-only views of missed-message emails: what was sent to whom, and what was not (read in time)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from emails.models import MissedMessage, MissedMessageEmail


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MissedMessageInline(ReadOnly, admin.TabularInline):
    model = MissedMessage
    fields = ("message", "kind", "created_at", "due_at")
    readonly_fields = fields
    extra = 0


@admin.register(MissedMessageEmail)
class MissedMessageEmailAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("id", "user", "outcome", "message_count", "created_at", "sent_at")
    list_filter = ("outcome",)
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)
    inlines = [MissedMessageInline]


@admin.register(MissedMessage)
class MissedMessageAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("id", "user", "message", "kind", "due_at", "email")
    list_filter = ("kind",)
    search_fields = ("user__username",)
    raw_id_fields = ("user", "message", "notification", "email")
    list_select_related = ("user", "message")
