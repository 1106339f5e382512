"""Wire shapes of the messaging API. Output goes through messaging.events so REST and sockets agree;
input serializers check types and shapes only, the services check the rules."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from core.fields import StrictCharField
from core.validation import MAX_DATABASE_ID
from messaging import events, limits, search
from messaging.models import (
    Attachment,
    Membership,
    Message,
    MessageReport,
    MessageVersion,
    Notification,
    Room,
    RoomSanction,
)
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


class ReactionSerializer(serializers.Serializer):
    """One emoji on a message: how many people chose it and the first 20 of them."""

    emoji = serializers.CharField(help_text="One emoji, or a :short_code:.")
    count = serializers.IntegerField()
    user_ids = serializers.ListField(child=serializers.IntegerField(), help_text="The first 20 people, in order.")


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
    thread_root = serializers.IntegerField(
        allow_null=True, help_text="The id of the root of the thread this reply is in; null for others."
    )
    reply_count = serializers.IntegerField(help_text="Live replies in this message's thread (0 unless a root).")
    last_reply_at = serializers.DateTimeField(allow_null=True, help_text="When the latest live reply was posted.")
    thread_participants = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of the first repliers (at most 20), in order."
    )
    html = serializers.CharField(
        help_text="content rendered from markdown to sanitized HTML (links, mentions, code); empty when deleted."
    )
    reactions = ReactionSerializer(many=True, help_text="Emoji in the order they were first used; empty when deleted.")
    pinned = serializers.BooleanField()

    def to_representation(self, instance: Message) -> dict:
        data = events.message_payload(instance, room_slug=self.context.get("room_slug"))
        return with_is_mine([data], self.context["request"].user.pk)[0]


def with_is_mine(payloads: list[dict[str, Any]], user_id: int) -> list[dict[str, Any]]:
    """Message payloads with MessageSerializer's ``is_mine`` for the caller, added in place (the fast
    paths build payloads without the serializer)."""
    for payload in payloads:
        sender = payload["sender"]
        payload["is_mine"] = sender is not None and sender["id"] == user_id
    return payloads


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


_PLAIN_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_HISTORY_CURSORS = {"limit": 1, "before": 1, "after": 0}  # the integer parameters and their least value


def history_query(params: QueryDict) -> dict[str, Any]:
    """HistoryQuerySerializer's validated data. A plain slug and plain digits (what every client sends)
    are read here, without DRF's field machinery (a tenth of a history request's CPU); anything else,
    and every error, goes through the serializer itself."""
    data: dict[str, Any] = {}
    room = params.get("room")
    if room is not None:
        if len(room) > limits.ROOM_SLUG or not _PLAIN_SLUG.fullmatch(room):
            return _validated_history_query(params)
        data["room"] = room
    for name, least in _HISTORY_CURSORS.items():
        text = params.get(name)
        if text is None:
            continue
        if not (text.isascii() and text.isdigit() and len(text) <= serializers.IntegerField.MAX_STRING_LENGTH):
            return _validated_history_query(params)
        if (value := int(text)) < least:
            return _validated_history_query(params)
        data[name] = value
    if "limit" in data:
        data["limit"] = min(data["limit"], settings.CHAT_HISTORY_MAX_PAGE)
    return data


def _validated_history_query(params: QueryDict) -> dict[str, Any]:
    query = HistoryQuerySerializer(data=params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


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


class ThreadQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, required=False, help_text="Replies after this seq.")
    limit = serializers.IntegerField(
        min_value=1, required=False, help_text=f"Replies per page (default {limits.THREAD_PAGE})."
    )

    def validate_limit(self, value: int) -> int:
        return min(value, limits.THREAD_MAX_PAGE)


class ThreadPageSerializer(serializers.Serializer):
    """A thread: its root, a page of its live replies (oldest first) and the next page's URL, or null."""

    root = MessageSerializer()
    replies = MessageSerializer(many=True)
    next = serializers.URLField(allow_null=True)


class ThreadFollowSerializer(serializers.Serializer):
    """Whether the caller follows the thread (of root ``thread_root``) now."""

    thread_root = serializers.IntegerField()
    following = serializers.BooleanField()


class MessageEditSerializer(serializers.Serializer):
    content = StrictCharField(allow_blank=True, trim_whitespace=False)


class MessageVersionSerializer(serializers.Serializer):
    """An earlier text of an edited message; ``edited_at`` is when it was written by an edit (null: the first text)."""

    content = serializers.CharField()
    html = serializers.CharField()
    edited_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: MessageVersion) -> dict[str, Any]:
        return events.message_version_payload(instance)


class RoomSerializer(serializers.ModelSerializer):
    """A room as the caller sees it: membership, role, read state and unread count."""

    is_member = serializers.BooleanField(read_only=True, default=False)
    role = serializers.CharField(read_only=True, allow_null=True, default=None)
    last_read_seq = serializers.IntegerField(read_only=True, allow_null=True, default=None)
    unread = serializers.IntegerField(read_only=True, default=0)
    notify = serializers.ChoiceField(
        choices=Membership.Notify.choices,
        read_only=True,
        allow_null=True,
        default=None,
        help_text="Your notification level for the room (null when not a member: the default, all).",
    )
    muted_until = serializers.DateTimeField(read_only=True, allow_null=True, default=None)
    direct_peer = serializers.SerializerMethodField(
        help_text="A one-to-one direct room: the other person's username; else null (see direct_peers)."
    )
    direct_peers = serializers.SerializerMethodField(
        help_text="A direct room: the other people's usernames, sorted (one, or 2 to 8 in a group); else null."
    )

    class Meta:
        model = Room
        fields = [
            "id", "slug", "name", "topic", "kind", "created_at", "last_seq",
            "is_member", "role", "last_read_seq", "unread", "direct_peer",
            "archived", "direct_peers", "notify", "muted_until", "post_policy",
        ]  # fmt: skip
        read_only_fields = fields

    def _peers(self, room: Room) -> list[str] | None:
        names = getattr(room, "direct_peers", None)
        return sorted(names.split(",")) if room.kind == Room.Kind.DIRECT and names else None

    def get_direct_peer(self, room: Room) -> str | None:
        peers = self._peers(room)
        return peers[0] if peers and len(peers) == 1 else None

    def get_direct_peers(self, room: Room) -> list[str] | None:
        return self._peers(room)


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


class RoomUpdateSerializer(serializers.Serializer):
    """Room settings to change, any of them (owners and administrators; moderators: the topic only).
    A new setting is a field here and an entry of ROOM_SETTINGS in messaging/services/room_manage.py."""

    name = StrictCharField(max_length=limits.ROOM_NAME, required=False)
    topic = StrictCharField(max_length=limits.ROOM_TOPIC, required=False, allow_blank=True)
    archived = serializers.BooleanField(
        required=False, help_text="An archived room is read-only (error room_archived)."
    )
    post_policy = serializers.ChoiceField(
        choices=Room.PostPolicy.choices,
        required=False,
        help_text="everyone, or moderators only (an announcement room); room and workspace moderators may set it.",
    )

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            raise serializers.ValidationError(f"Send at least one of {', '.join(self.fields)}.")
        return attrs


class MembershipUpdateSerializer(serializers.Serializer):
    """Your own settings in a room: its notification level and a mute (joining a public room first)."""

    notify = serializers.ChoiceField(
        choices=Membership.Notify.choices,
        required=False,
        help_text="all: every message; mentions: mentions only; none: nothing (notifications, email, unread bumps).",
    )
    muted_until = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Nothing from the room until then (at most a year ahead); null unmutes.",
    )

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            raise serializers.ValidationError("Send notify, muted_until or both.")
        return attrs


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


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
    """One other person (``user``) or a group (``users``: 1 to 8 others; you are added)."""

    user = serializers.IntegerField(min_value=1, max_value=MAX_DATABASE_ID, required=False)
    users = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_DATABASE_ID),
        min_length=1,
        max_length=limits.DIRECT_ROOM_OTHERS,
        required=False,
    )

    def validate(self, attrs: dict) -> dict:
        if "user" not in attrs and "users" not in attrs:
            raise serializers.ValidationError({"user": ['Send {"user": id} or {"users": [ids]}.']})
        if "user" in attrs and "users" in attrs:
            raise serializers.ValidationError('Send {"user": id} or {"users": [ids]}, not both.')
        return attrs


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


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=search.QUERY_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text=f"Words to find (all of them; the last also as a prefix), at most {search.QUERY_MAX_WORDS}. "
        "Punctuation and search operators are ignored; no word at all: 400 query_too_short.",
    )
    room = serializers.SlugField(
        max_length=limits.ROOM_SLUG, required=False, help_text="Only this room (404 when you may not read it)."
    )
    sender = serializers.IntegerField(
        min_value=1, max_value=MAX_DATABASE_ID, required=False, help_text="Only messages of this user id."
    )
    before = serializers.DateTimeField(required=False, help_text="Only messages sent before this time (ISO 8601).")
    after = serializers.DateTimeField(required=False, help_text="Only messages sent after this time (ISO 8601).")
    has = serializers.ChoiceField(
        choices=search.HAS_CHOICES, required=False, help_text="`file`: with an attachment; `image`: with an image."
    )
    order = serializers.ChoiceField(
        choices=search.ORDER_CHOICES,
        default="newest",
        help_text="`newest` first (default), or `relevance`: best matches first, newest among equals, "
        f"{search.RELEVANCE_DEPTH} results deep.",
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=search.MAX_PAGE, required=False, help_text=f"Default {search.PAGE_SIZE}."
    )
    cursor = serializers.IntegerField(
        min_value=1, max_value=MAX_DATABASE_ID, required=False, help_text="From the previous page's `next`."
    )


class SearchResultSerializer(serializers.Serializer):
    """A matching message and an excerpt of it: escaped text where the matches are in ``<mark>`` tags."""

    message = MessageSerializer()
    highlight = serializers.CharField()


@extend_schema_serializer(many=False)  # a page object, though it answers the list route
class SearchPageSerializer(serializers.Serializer):
    """Newest first; ``next`` is the URL of the next (older) page, or null."""

    results = SearchResultSerializer(many=True)
    next = serializers.URLField(allow_null=True)


# Moderation (teams)


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
