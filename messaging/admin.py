"""Admin for rooms, messages, attachments and notifications: what an operator needs to moderate."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html

from messaging.models import Attachment, Membership, Message, Notification, Room
from messaging.selectors import AttachmentNotFound
from messaging.services import messages_purge
from messaging.services.rooms import room_delete
from messaging.views.files import attachment_response


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


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "kind", "last_seq", "created_by", "created_at")
    list_filter = ("kind", "created_at")
    search_fields = ("slug", "name", "topic")
    readonly_fields = ("last_seq", "direct_key", "created_at")
    raw_id_fields = ("created_by",)
    inlines = [MembershipInline]
    actions = ["purge_rooms"]

    @admin.action(description="Delete every message of the selected rooms for good")
    def purge_rooms(self, request: HttpRequest, queryset: QuerySet[Room]) -> None:
        deleted = sum(messages_purge(actor=request.user, room=room) for room in queryset)
        self.message_user(request, f"Deleted {deleted} message(s).", messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: Room) -> None:
        # Through the service: messages and files purged, the room's sockets closed.
        room_delete(actor=request.user, room=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Room]) -> None:
        for room in queryset:
            room_delete(actor=request.user, room=room)


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
        deleted = messages_purge(actor=request.user, ids=ids)
        self.message_user(request, f"Deleted {deleted} message(s).", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages get their seq from the send service, never from a form

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False  # edits go through the API, where they are broadcast (message_updated)

    def delete_model(self, request: HttpRequest, obj: Message) -> None:
        messages_purge(actor=request.user, ids=[obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        messages_purge(actor=request.user, ids=list(queryset.values_list("pk", flat=True)))


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ("original_name", "human_size", "content_type", "uploader", "message", "created_at", "download")
    list_filter = ("content_type", "created_at")
    search_fields = ("original_name", "sha256", "uploader__username")
    list_select_related = ("uploader", "message")
    raw_id_fields = ("uploader", "message")
    readonly_fields = ("file", "size", "content_type", "sha256", "created_at")

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

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponse:
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
