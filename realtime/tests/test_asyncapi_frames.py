"""The frames the code builds and sends (domain events, the protocol's own frames, back_chat's reshaped
messages) match the AsyncAPI document, and the schemas refuse what the server never sends."""

from __future__ import annotations

import inspect
import json

import pytest

from compat import consumers as compat
from core.errors import ApplicationError
from messaging import events
from messaging.models import Message, Notification
from messaging.services import (
    direct_room_get_or_create,
    files_upload,
    message_delete,
    message_edit,
    message_pin,
    message_send,
    notification_send,
    reaction_set,
    room_join,
)
from messaging.services.errors import ClientIdReused, InvalidRecipients
from messaging.services.moderation import report_create
from messaging.services.notifications import notify_purge
from messaging.tests.factories import png, send
from realtime import protocol, replay_frames
from realtime.asyncapi import (
    validate_server_frame,
)
from realtime.kernel import encode
from realtime.protocol_errors import InvalidJson
from realtime.tests.test_asyncapi import (
    LEGACY_MESSAGES,
    MESSAGES,
    NOTIFICATIONS,
    schema_types,
)
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


# --- the frames the code builds --------------------------------------------------------------------------

PAYLOAD_HELPERS = {
    "timestamp", "user_summary", "attachment_payload", "message_payload", "notification_payload",
    "message_version_payload", "room_payload",
    "attachment_row_payload", "message_row_payload",  # the fast history path's builders
}  # fmt: skip
PROTOCOL_PARSERS = {"decode", "parse_messages_frame", "parse_notifications_frame", "parse_auth_frame", "query_params"}


def public_functions(module) -> set[str]:
    return {
        name
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__ and not name.startswith("_")
    }


@pytest.fixture
def rich_data(general_room, user, other_user, staff_user):
    """Messages and notifications of every shape: with files, a reply, edited, deleted, sender deleted."""
    room_join(actor=user, room=general_room)
    room_join(actor=other_user, room=general_room)
    upload = files_upload(uploader=user, uploads=[png()])
    first = send(user, "hello @bob", client_id="c-1")
    with_file = message_send(
        sender=user, content="", room=general_room, attachment_ids=[upload[0].pk], reply_to_id=first.pk
    ).message
    send(other_user, "in the thread", reply_to_id=with_file.pk)  # alice (the root's author) gets a thread_reply
    message_edit(actor=user, message_id=send(user, "tpyo").pk, content="typo")
    reaction_set(actor=user, message_id=first.pk, emoji="\N{THUMBS UP SIGN}", added=True)
    reaction_set(actor=other_user, message_id=first.pk, emoji=":shipit:", added=True)
    message_pin(actor=user, message_id=first.pk, pinned=True)
    deleted = message_delete(actor=user, message_id=send(user, "oops").pk)
    ghost = make_user("ghost")
    orphan = send(ghost, "from a deleted account")
    ghost.delete()
    direct, _ = direct_room_get_or_create(actor=user, other=other_user)
    send(user, "psst", room=direct)
    dm_file = files_upload(uploader=user, uploads=[png("dm.png")])
    message_send(sender=user, content="look", room=direct, attachment_ids=[dm_file[0].pk])
    notification_send(sender=user, to=[other_user.pk], title="Lunch?", body="12:30")
    notify_purge(actor=staff_user, rooms=[general_room])
    notify_purge(actor=None, rooms=None)
    report_create(actor=other_user, message_id=first.pk, reason="spam")  # a report notification to root
    messages = list(Message.objects.select_related("room", "sender").order_by("id"))
    orphan.refresh_from_db()
    assert orphan.sender is None
    return {
        "room": general_room,
        "user": user,
        "messages": messages,
        "with_file": with_file,
        "deleted": deleted,
        "notifications": list(Notification.objects.order_by("id")),
        "direct": direct,
        "pair": [user, other_user],
    }


# Every frame builder of messaging.events and realtime.protocol, called on every sample it applies to.
EVENT_BUILDERS = {
    "message_created": lambda d: [events.message_created(m, room_slug=m.room.slug) for m in d["messages"]],
    "message_updated": lambda d: [events.message_updated(m) for m in d["messages"]],
    "message_deleted": lambda d: [events.message_deleted(d["deleted"])],
    "messages_purged": lambda d: [events.messages_purged(d["room"]), events.messages_purged(None)],
    "thread_updated": lambda d: [events.thread_updated(m, room_slug=m.room.slug) for m in d["messages"]],
    "reaction": lambda d: [
        events.reaction(d["with_file"], emoji="\N{THUMBS UP SIGN}", user=d["user"], added=True),
        events.reaction(d["with_file"], emoji=":shipit:", user=d["user"], added=False),
    ],
    "message_pinned": lambda d: [events.message_pinned(d["with_file"], user=d["user"])],
    "message_unpinned": lambda d: [events.message_unpinned(d["with_file"], user=d["user"])],
    "notification_created": lambda d: [events.notification_created(n) for n in d["notifications"]],
    "notifications_read": lambda d: [events.notifications_read([1, 2]), events.notifications_read(None)],
    "unread": lambda d: [events.unread(room_slug="general", count=0), events.unread(room_slug="dm-1-2", count=7)],
    "room_created": lambda d: [
        events.room_created(d["room"]),
        events.room_created(d["direct"], direct_members=d["pair"]),
    ],
    "room_updated": lambda d: [events.room_updated(d["room"])],
    "room_deleted": lambda d: [
        events.room_deleted(d["room"]),
        events.room_deleted(d["direct"], direct_members=d["pair"]),
    ],
}


class _CodeAddedLater(ApplicationError):
    code = "a_code_added_later"


PROTOCOL_BUILDERS = {
    "error": lambda d: [
        protocol.error(InvalidJson()),
        protocol.error(ClientIdReused("Used."), client_id="k"),
        protocol.error(InvalidRecipients(extra={"ids": [424242]})),
        protocol.error(_CodeAddedLater("Clients treat it as a generic failure.")),
    ],
    "auth_ok": lambda d: [protocol.auth_ok(exp=1767225600), protocol.auth_ok(exp=None)],
    "ack": lambda d: [
        protocol.ack(client_id="c-1", message_id=1, seq=1),
        protocol.ack(client_id=None, message_id=2, seq=2),
    ],
    "history": lambda d: [
        protocol.history([events.message_payload(m) for m in d["messages"] if m.room_id == d["room"].pk]),
        protocol.history([]),
        protocol.history([], complete=False),
    ],
    "history_frames": lambda d: [
        json.loads(text)
        for text in replay_frames.history_frames(
            [events.message_payload(m) for m in d["messages"] if m.room_id == d["room"].pk], max_bytes=16 * 1024
        )
        or ["a message too big for a frame"]
    ],
    "resync": lambda d: [protocol.resync(last_seq=0, latest_seq=501)],
    "reaction_ack": lambda d: [
        protocol.reaction_ack(message_id=m.pk, reactions=m.reaction_summary) for m in d["messages"] if not m.is_deleted
    ],
    "typing": lambda d: [protocol.typing(user_id=d["user"].pk, username=d["user"].username)],
    "presence": lambda d: [
        protocol.presence(user_id=d["user"].pk, username=d["user"].username, display_name="A", online=True),
        protocol.presence(user_id=d["user"].pk, username="", display_name="", online=False),
    ],
}


def built_frames(data, builders=None) -> dict[str, list[dict]]:
    builders = builders or {**EVENT_BUILDERS, **PROTOCOL_BUILDERS}
    return {name: build(data) for name, build in builders.items()}


def test_every_frame_builder_has_samples_here():
    assert public_functions(events) - PAYLOAD_HELPERS == set(EVENT_BUILDERS)
    replay = public_functions(replay_frames)
    assert public_functions(protocol) - PROTOCOL_PARSERS == set(PROTOCOL_BUILDERS) - replay


def test_every_built_frame_matches_the_document(rich_data):
    frames = [frame for samples in built_frames(rich_data).values() for frame in samples]
    # The notifications socket's own acks are built inline by the consumer.
    frames += [{"type": "ack", "sent": 3}, {"type": "ack", "updated": 0}]

    for frame in frames:
        json.dumps(frame)  # what leaves the server is JSON as it is
        validate_server_frame(frame)
    assert {frame["type"] for frame in frames} == schema_types("receive", MESSAGES) | schema_types(
        "receive", NOTIFICATIONS
    )


def test_what_the_legacy_message_socket_sends_for_each_built_frame_matches_its_channel(rich_data):
    """compat/consumers.py turns each hub frame into what a back_chat client receives."""
    frames = [frame for samples in built_frames(rich_data).values() for frame in samples]
    sent = []
    for frame in frames:
        for recipient in (rich_data["user"].pk, 424242):
            text = compat.legacy_text(encode(frame), recipient_id=recipient)
            if text is not None:
                sent.append(json.loads(text))

    for frame in sent:
        if frame.get("type") not in {
            "presence", "unread", "notification", "notifications_read", "room_created", "room_updated", "room_deleted",
        }:  # fmt: skip
            validate_server_frame(frame, channel=LEGACY_MESSAGES)
    legacy = [frame for frame in sent if "mtype" in frame]
    assert {frame["isMine"] for frame in legacy} == {True, False}
    assert any(frame["attachments"] for frame in legacy)
    assert any(frame["user_id"] is None for frame in legacy)


def test_the_samples_cover_every_message_and_notification_shape(rich_data):
    built = built_frames(rich_data, EVENT_BUILDERS)
    payloads = [frame["message"] for frame in built["message_created"]]
    kinds = {frame["notification"]["kind"] for frame in built["notification_created"]}

    assert any(p["attachments"] and p["reply_to"] and p["content"] == "" for p in payloads)
    assert any(p["reply_count"] == 2 and p["last_reply_at"] and p["thread_participants"] for p in payloads)
    assert any(p["thread_root"] for p in payloads)
    assert any(p["edited_at"] for p in payloads)
    assert any(p["deleted"] for p in payloads)
    assert any(len(p["reactions"]) == 2 and p["pinned"] for p in payloads)
    assert any(p["sender"] is None for p in payloads)
    assert kinds == {kind.value for kind in Notification.Kind}
