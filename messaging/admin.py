"""Admin for rooms, messages, attachments and notifications: what an operator needs to moderate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html

from core.errors import ApplicationError, InvalidInput
from messaging.models import Attachment, Membership, Message, MessageReport, Notification, Room, RoomSanction
from messaging.selectors import AttachmentNotFound
from messaging.services import messages_purge
from messaging.services.moderation import room_set_post_policy
from messaging.services.rooms import CREATABLE_KINDS, room_create, room_delete, room_kind_check, room_slug_check
from messaging.views.files import attachment_response
from users.authentication import request_user
from users.models import AuditEntry


class MembershipInline(admin.TabularInline):
    """Members of a room, to read: joining and leaving go through the API, which tells the sockets."""

    model = Membership
    extra = 0
    fields = ("user", "role", "joined_at", "last_read_seq")
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "memberships (read-only: membership changes go through the API, rooms/{slug}/members/)"

    def has_add_permission(self, request: HttpRequest, obj: Room | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Room | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Room | None = None) -> bool:
        return False


def _as_field_error(check: Callable[..., Any], **kwargs: Any) -> Any:
    """A service check's refusal as a form error on the field being cleaned."""
    try:
        return check(**kwargs)
    except InvalidInput as exc:
        raise ValidationError(exc.detail, code=exc.code) from None


class RoomAdminForm(forms.ModelForm):
    """The API's rules for slugs and kinds (the services' checks), so the admin cannot store a room
    the API would refuse, or one the database refuses (a direct room without its key)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.fields.get("kind")  # absent when read-only (direct rooms)
        if isinstance(kind, forms.ChoiceField):
            kind.choices = [choice for choice in Room.Kind.choices if choice[0] in CREATABLE_KINDS]

    def _room(self) -> Room | None:
        """The room as stored (the form copies its values onto the instance only after cleaning)."""
        return None if self.instance._state.adding else self.instance

    def clean_slug(self) -> str:
        return _as_field_error(room_slug_check, slug=self.cleaned_data["slug"], room=self._room())

    def clean_kind(self) -> str:
        kind = self.cleaned_data["kind"]
        _as_field_error(room_kind_check, kind=kind, room=self._room())
        return kind


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    form = RoomAdminForm
    list_display = ("slug", "name", "kind", "last_seq", "created_by", "created_at")
    list_filter = ("kind", "created_at")
    search_fields = ("slug", "name", "topic")
    readonly_fields = ("last_seq", "direct_key", "created_by", "created_at", "post_policy")
    inlines = [MembershipInline]
    actions = ["purge_rooms", "moderators_post", "everyone_posts"]

    @admin.action(description="Only moderators post in the selected rooms (announcements)")
    def moderators_post(self, request: HttpRequest, queryset: QuerySet[Room]) -> None:
        self._post_policy(request, queryset, Room.PostPolicy.MODERATORS)

    @admin.action(description="Everyone posts in the selected rooms")
    def everyone_posts(self, request: HttpRequest, queryset: QuerySet[Room]) -> None:
        self._post_policy(request, queryset, Room.PostPolicy.EVERYONE)

    def _post_policy(self, request: HttpRequest, queryset: QuerySet[Room], policy: str) -> None:
        actor = request_user(request)
        try:
            with transaction.atomic():
                for room in queryset:
                    room_set_post_policy(actor=actor, room=room, post_policy=policy, via=AuditEntry.Via.ADMIN)
        except ApplicationError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            return
        self.message_user(request, f"{queryset.count()} room(s) changed.", messages.SUCCESS)

    def get_readonly_fields(self, request: HttpRequest, obj: Room | None = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        # A direct room is its pair of people: its slug and kind follow from them.
        return (*fields, "slug", "kind") if obj is not None and obj.kind == Room.Kind.DIRECT else fields

    def save_model(self, request: HttpRequest, obj: Room, form: forms.ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # Created as the API creates rooms: the administrator becomes the owner, so a new private room
        # has a member who can add people (a room nobody is a member of is unreachable).
        room = room_create(actor=request_user(request), name=obj.name, slug=obj.slug, kind=obj.kind, topic=obj.topic)
        for field in Room._meta.concrete_fields:
            setattr(obj, field.attname, getattr(room, field.attname))
        obj._state.adding = False

    @admin.action(description="Delete every message of the selected rooms for good")
    def purge_rooms(self, request: HttpRequest, queryset: QuerySet[Room]) -> None:
        actor = request_user(request)
        deleted = sum(messages_purge(actor=actor, room=room, via=AuditEntry.Via.ADMIN) for room in queryset)
        self.message_user(request, f"Deleted {deleted} message(s).", messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: Room) -> None:
        # Through the service: messages and files purged, the room's sockets closed.
        room_delete(actor=request_user(request), room=obj, via=AuditEntry.Via.ADMIN)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Room]) -> None:
        for room in queryset:
            room_delete(actor=request_user(request), room=room, via=AuditEntry.Via.ADMIN)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "room", "seq", "sender", "short_content", "created_at", "edited_at", "is_deleted")
    list_filter = (
        "is_deleted",
        ("room", admin.RelatedOnlyFieldListFilter),
        ("sender", admin.RelatedOnlyFieldListFilter),
        "created_at",
    )
    search_fields = ("content", "sender__username", "client_id")
    date_hierarchy = "created_at"
    list_select_related = ("room", "sender")
    raw_id_fields = ("sender", "reply_to")
    readonly_fields = ("room", "seq", "client_id", "created_at")
    show_full_result_count = False  # a COUNT(*) over millions of rows on every page is wasted
    list_per_page = 100
    actions = ["purge_selected"]

    @admin.display(description="content")
    def short_content(self, message: Message) -> str:
        return message.content if len(message.content) <= 80 else message.content[:77] + "..."

    @admin.action(description="Delete the selected messages for good (clients are told)")
    def purge_selected(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        deleted = messages_purge(actor=request_user(request), ids=ids, via=AuditEntry.Via.ADMIN)
        self.message_user(request, f"Deleted {deleted} message(s).", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages get their seq from the send service, never from a form

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False  # edits go through the API, where they are broadcast (message_updated)

    def delete_model(self, request: HttpRequest, obj: Message) -> None:
        messages_purge(actor=request_user(request), ids=[obj.pk], via=AuditEntry.Via.ADMIN)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        messages_purge(
            actor=request_user(request), ids=list(queryset.values_list("pk", flat=True)), via=AuditEntry.Via.ADMIN
        )


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ("original_name", "human_size", "content_type", "uploader", "message", "created_at", "download")
    list_filter = ("content_type", "created_at")
    search_fields = ("original_name", "sha256", "uploader__username")
    list_select_related = ("uploader", "message")
    raw_id_fields = ("uploader", "message")
    readonly_fields = ("file", "thumbnail", "size", "content_type", "sha256", "created_at")

    @admin.display(description="size", ordering="size")
    def human_size(self, attachment: Attachment) -> str:
        return filesizeformat(attachment.size)

    @admin.display(description="file")
    def download(self, attachment: Attachment) -> str:
        url = reverse("admin:messaging_attachment_download", args=[attachment.pk])
        return format_html('<a href="{}">download</a>', url)

    def get_urls(self) -> list:
        download = self.admin_site.admin_view(self.download_view)
        return [path("<int:pk>/download/", download, name="messaging_attachment_download"), *super().get_urls()]

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        attachment = get_object_or_404(Attachment, pk=pk)
        try:
            return attachment_response(attachment)
        except AttachmentNotFound:
            raise Http404("The file is missing from storage.") from None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # uploads go through the API, where they are checked


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("recipient", "kind", "title", "created_at", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("title", "body", "recipient__username")
    list_select_related = ("recipient",)
    raw_id_fields = ("recipient", "actor")
    show_full_result_count = False


@admin.register(RoomSanction)
class RoomSanctionAdmin(admin.ModelAdmin):
    """Bans and mutes, to look at; they are given and lifted by room moderators (the API), audited."""

    list_display = ("room", "user", "kind", "until", "reason", "created_by", "created_at")
    list_filter = ("kind", "created_at")
    search_fields = ("room__slug", "user__username", "reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RoomSanction | None = None) -> bool:
        return False


@admin.register(MessageReport)
class MessageReportAdmin(admin.ModelAdmin):
    """Reports of messages, to look at; moderators resolve them over the API (audited)."""

    list_display = ("id", "room", "message", "reporter", "status", "created_at", "resolved_by")
    list_filter = ("status", "created_at")
    search_fields = ("room__slug", "reporter__username", "reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: MessageReport | None = None) -> bool:
        return False
