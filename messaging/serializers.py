"""Wire shapes of the messaging API. Output goes through messaging.events so REST and sockets agree;
input serializers check types and shapes only, the services check the rules."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from core.fields import StrictCharField
from core.validation import MAX_DATABASE_ID
from messaging import events, limits
from messaging.models import Attachment, Membership, Message, MessageReport, Notification, Room, RoomSanction
from users.models import User


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    role = serializers.ChoiceField(choices=User.Role.choices)
    is_bot = serializers.BooleanField()
    owner = serializers.IntegerField(allow_null=True, help_text="For a bot: its owner's id; null for people")


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    url = serializers.CharField()
    thumbnail_url = serializers.CharField(
        allow_null=True, help_text="A WebP preview of an image (400 px on its longest side by default); else null."
    )

    def to_representation(self, instance: Attachment) -> dict[str, Any]:
        return events.attachment_payload(instance)


class MessageSerializer(serializers.Serializer):
    """A message with ``is_mine`` for the caller (REST only: socket frames carry no per-recipient field)."""

    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    room = serializers.SlugField()
    sender = UserSummarySerializer(allow_null=True)
    content = serializers.CharField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    client_id = serializers.CharField(allow_null=True)
    reply_to = serializers.IntegerField(allow_null=True)
    deleted = serializers.BooleanField()
    attachments = AttachmentSerializer(many=True)
    is_mine = serializers.BooleanField()

    def to_representation(self, instance: Message) -> dict:
        data = events.message_payload(instance, room_slug=self.context.get("room_slug"))
        data["is_mine"] = instance.sender_id is not None and instance.sender_id == self.context["request"].user.pk
        return data


@extend_schema_serializer(many=False)  # a page object, though it answers the list route
class MessagePageSerializer(serializers.Serializer):
    """Documentation of a history page: oldest first; ``previous`` pages back, ``next`` forward."""

    results = MessageSerializer(many=True)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class HistoryQuerySerializer(serializers.Serializer):
    room = serializers.SlugField(max_length=limits.ROOM_SLUG, required=False)
    limit = serializers.IntegerField(min_value=1, required=False)
    before = serializers.IntegerField(min_value=1, required=False)
    after = serializers.IntegerField(min_value=0, required=False)

    def validate_limit(self, value: int) -> int:
        return min(value, settings.CHAT_HISTORY_MAX_PAGE)


class PurgeQuerySerializer(serializers.Serializer):
    room = serializers.SlugField(max_length=limits.ROOM_SLUG, required=False)


class MessageCreateSerializer(serializers.Serializer):
    content = StrictCharField(allow_blank=True, trim_whitespace=False, required=False, default="")
    room = serializers.SlugField(max_length=limits.ROOM_SLUG, required=False)
    client_id = StrictCharField(max_length=limits.CLIENT_ID, required=False, allow_blank=True, allow_null=True)
    attachments = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_DATABASE_ID), required=False, max_length=10
    )
    reply_to = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class MessageEditSerializer(serializers.Serializer):
    content = StrictCharField(allow_blank=True, trim_whitespace=False)


class RoomSerializer(serializers.ModelSerializer):
    """A room as the caller sees it: membership, role, read state and unread count."""

    is_member = serializers.BooleanField(read_only=True, default=False)
    role = serializers.CharField(read_only=True, allow_null=True, default=None)
    last_read_seq = serializers.IntegerField(read_only=True, allow_null=True, default=None)
    unread = serializers.IntegerField(read_only=True, default=0)
    direct_peer = serializers.CharField(read_only=True, allow_null=True, default=None)

    class Meta:
        model = Room
        fields = [
            "id", "slug", "name", "topic", "kind", "created_at", "last_seq",
            "is_member", "role", "last_read_seq", "unread", "direct_peer",
            "post_policy",
        ]  # fmt: skip
        read_only_fields = fields


class StrictSlugField(serializers.SlugField):
    """A SlugField that refuses numbers instead of turning them into text."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class RoomCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=limits.ROOM_NAME)
    slug = StrictSlugField(max_length=limits.ROOM_SLUG, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=[Room.Kind.PUBLIC, Room.Kind.PRIVATE], default=Room.Kind.PUBLIC)
    topic = StrictCharField(max_length=limits.ROOM_TOPIC, required=False, allow_blank=True, default="")


class MembershipSerializer(serializers.ModelSerializer):
    user = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["user", "role", "joined_at", "last_read_seq"]
        read_only_fields = fields

    def get_user(self, membership: Membership) -> dict:
        return events.user_summary(membership.user)


class AddMemberSerializer(serializers.Serializer):
    user = serializers.IntegerField(min_value=1, required=False, help_text="Omit to join yourself.")


class DirectRoomSerializer(serializers.Serializer):
    user = serializers.IntegerField(min_value=1)


class MarkReadSerializer(serializers.Serializer):
    seq = serializers.IntegerField(min_value=0, required=False)


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "data", "created_at", "read_at"]
        read_only_fields = fields

    def to_representation(self, instance: Notification) -> dict:
        return events.notification_payload(instance)


class NotificationQuerySerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, default=False)


class NotificationReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_DATABASE_ID),
        required=False,
        max_length=limits.IDS_PER_REQUEST,
    )
    all = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("all") and not attrs.get("ids"):
            raise serializers.ValidationError('Send {"ids": [...]} or {"all": true}.')
        return attrs


class NotificationSendSerializer(serializers.Serializer):
    to = serializers.JSONField(help_text='A list of user ids, or "all" (administrators only).')
    title = StrictCharField(max_length=limits.NOTIFICATION_TITLE)
    body = StrictCharField(max_length=limits.NOTIFICATION_BODY, required=False, allow_blank=True, default="")


class UploadFormSerializer(serializers.Serializer):
    """The browsable API's upload form: one file (the API takes any number of "file" or "files" parts)."""

    file = serializers.FileField()


class UploadResponseSerializer(serializers.Serializer):
    files = AttachmentSerializer(many=True)


class DeletedSerializer(serializers.Serializer):
    deleted = serializers.IntegerField()


# Moderation (teams)


class RoomPostPolicySerializer(serializers.Serializer):
    """Who may post: ``everyone`` who may write the room, or ``moderators`` only (announcements)."""

    post_policy = serializers.ChoiceField(choices=Room.PostPolicy.choices, required=False)


class BanCreateSerializer(serializers.Serializer):
    """Ban a user from the room, until a time (omit: for good), with an optional reason."""

    user = serializers.IntegerField(min_value=1)
    until = serializers.DateTimeField(required=False, allow_null=True)
    reason = StrictCharField(max_length=limits.MODERATION_REASON, required=False, allow_blank=True, default="")


class MuteCreateSerializer(serializers.Serializer):
    """Mute a user in the room until a time (they keep reading), with an optional reason."""

    user = serializers.IntegerField(min_value=1)
    until = serializers.DateTimeField()
    reason = StrictCharField(max_length=limits.MODERATION_REASON, required=False, allow_blank=True, default="")


class SanctionSerializer(serializers.Serializer):
    """A ban or mute in force: who, until when (null: for good), why, by whom, since when."""

    user = serializers.SerializerMethodField()
    until = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()
    created_by = serializers.IntegerField(source="created_by_id", allow_null=True)
    created_at = serializers.DateTimeField()

    @extend_schema_field(UserSummarySerializer)
    def get_user(self, sanction: RoomSanction) -> dict[str, Any]:
        return events.user_summary(sanction.user)


class ReportCreateSerializer(serializers.Serializer):
    """Why the message should be looked at by the room's moderators."""

    reason = StrictCharField(max_length=limits.MODERATION_REASON)


class ReportResolveSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["resolved", "dismissed"], default="resolved")


class ReportQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["open", "resolved", "dismissed", "all"], default="open")


class ReportSerializer(serializers.Serializer):
    """A report of a message: the message as its room shows it, who reported it, why, and its status."""

    id = serializers.IntegerField()
    room = serializers.CharField(source="room.slug")
    message = serializers.SerializerMethodField()
    reporter = serializers.SerializerMethodField()
    reason = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    resolved_by = serializers.IntegerField(source="resolved_by_id", allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(MessageSerializer)
    def get_message(self, report: MessageReport) -> dict[str, Any]:
        return events.message_payload(report.message, room_slug=report.room.slug, attachments=[])

    @extend_schema_field(UserSummarySerializer(allow_null=True))
    def get_reporter(self, report: MessageReport) -> dict[str, Any] | None:
        return events.user_summary(report.reporter)
