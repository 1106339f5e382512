"""back_chat's sockets (/ws/messages, /ws/notifications without the slash), driven as its clients did.

Every frame received is checked against the AsyncAPI document's channel of the socket's own path
(``legacyMessages``, ``legacyNotifications``), back_chat's message shape included, as on the new sockets.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from channels.db import database_sync_to_async

from compat import consumers as compat
from core.errors import InvalidField
from messaging.models import Message
from messaging.services import message_delete
from messaging.tests.factories import send
from realtime.asyncapi import document
from realtime.tests.sockets import Client, make_socket, open_socket
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)

LEGACY, NEW = "/ws/messages", "/ws/messages/"
LEGACY_NOTIFICATIONS = "/ws/notifications"
LEGACY_KEYS = {"user_id", "content", "timestamp", "mtype", "isMine", "id", "seq", "room", "sender", "attachments"}

send_async = database_sync_to_async(send)


def back_chat_frame(content: str, **extra) -> dict:
    """What back_chat's web client sent."""
    return {"user_id": "null", "content": content, "timestamp": "2024-05-01T10:00:00.000Z", "mtype": "message"} | extra


async def legacy_frame(client: Client, timeout: float = 2, mtype: str = "message") -> dict:
    """The next back_chat-shaped frame of ``mtype`` (skipping the frames before it, such as acks and
    people connecting)."""
    while True:
        frame = await client.frame(timeout)
        if frame.get("mtype") == mtype:
            return frame


async def frames_for(client: Client, seconds: float) -> list[dict]:
    """Every frame that arrives within ``seconds``."""
    frames = []
    while not await client.receive_nothing(seconds):
        frames.append(await client.frame())
    return frames


async def new_frame_of_type(client: Client, frame_type: str, timeout: float = 2) -> dict:
    """The next frame of ``frame_type`` on a legacy socket (skipping the others, back_chat's messages too)."""
    while True:
        frame = await client.frame(timeout)
        if frame.get("type") == frame_type:
            return frame


async def stored() -> list[tuple[str, str]]:
    rows = Message.objects.select_related("sender").order_by("seq")
    return await database_sync_to_async(lambda: [(str(m.sender and m.sender.username), m.content) for m in rows])()


# --- /ws/messages -----------------------------------------------------------------------------------------


async def test_a_back_chat_frame_reaches_legacy_and_new_clients_each_in_their_shape(general_room, user, other_user):
    alice = await open_socket(LEGACY, user=user)
    bob_legacy = await open_socket(LEGACY, user=other_user)
    bob_new = await open_socket(NEW, user=other_user)

    await alice.send_to(text_data=json.dumps(back_chat_frame("hi")))

    mine = await legacy_frame(alice)
    theirs = await legacy_frame(bob_legacy)
    modern = await new_frame_of_type(bob_new, "message")
    assert set(mine) == set(theirs) == LEGACY_KEYS
    assert mine["isMine"] is True
    assert theirs["isMine"] is False
    assert {key: value for key, value in mine.items() if key != "isMine"} == {
        key: value for key, value in theirs.items() if key != "isMine"
    }
    assert (mine["user_id"], mine["content"], mine["mtype"]) == ("alice", "hi", "message")
    assert modern["type"] == "message"
    assert modern["message"]["content"] == "hi"
    assert modern["message"]["sender"]["id"] == user.pk
    assert mine["timestamp"] == modern["message"]["created_at"]
    assert mine["id"] == modern["message"]["id"]
    # No ack for a frame without client_id: back_chat's front end would show it as a message.
    assert not [frame for frame in await frames_for(alice, 0.3) if frame.get("type") == "ack"]
    assert await stored() == [("alice", "hi")]
    for client in (alice, bob_legacy, bob_new):
        await client.disconnect()


async def test_a_spoofed_user_id_and_timestamp_are_ignored(general_room, user, other_user):
    alice = await open_socket(LEGACY, user=user)
    bob = await open_socket(LEGACY, user=other_user)

    await alice.send_to(text_data=json.dumps(back_chat_frame("I am bob", user_id="bob", timestamp="1999-01-01")))

    seen_by_bob = await legacy_frame(bob)
    assert seen_by_bob["user_id"] == "alice"
    assert seen_by_bob["sender"]["id"] == user.pk
    assert seen_by_bob["isMine"] is False
    assert not seen_by_bob["timestamp"].startswith("1999")
    assert await stored() == [("alice", "I am bob")]
    await alice.disconnect()
    await bob.disconnect()


async def test_a_frame_without_mtype_is_a_message_too(general_room, user):
    alice = await open_socket(LEGACY, user=user)

    await alice.send_to(text_data=json.dumps({"content": "just content"}))

    assert (await legacy_frame(alice))["content"] == "just content"
    await alice.disconnect()


async def test_new_protocol_frames_work_on_the_legacy_path(general_room, user, other_user):
    alice = await open_socket(LEGACY, user=user)
    bob = await open_socket(NEW, user=other_user)

    await alice.send(type="message", content="new style", client_id="c1")
    await alice.send(type="message", content="new style", client_id="c1")  # a retry: stored once

    first, second = await new_frame_of_type(alice, "ack"), await new_frame_of_type(alice, "ack")
    assert first == second == {"type": "ack", "client_id": "c1", "id": first["id"], "seq": 1}
    assert (await bob.frame())["message"]["client_id"] == "c1"
    assert await bob.receive_nothing(0.2)
    await alice.disconnect()
    await bob.disconnect()


async def test_a_legacy_frame_may_carry_a_client_id_for_safe_retries(general_room, user):
    alice = await open_socket(LEGACY, user=user)

    for _ in range(2):
        await alice.send_to(text_data=json.dumps(back_chat_frame("once", client_id="retry")))
        assert (await new_frame_of_type(alice, "ack"))["client_id"] == "retry"

    assert await stored() == [("alice", "once")]
    await alice.disconnect()


async def test_messages_posted_elsewhere_reach_legacy_clients_in_their_shape(general_room, user, other_user):
    alice = await open_socket(LEGACY, user=user)

    await send_async(other_user, "over REST")
    await send_async(user, "mine over REST")

    first, second = await legacy_frame(alice), await legacy_frame(alice)
    assert (first["user_id"], first["content"], first["isMine"]) == ("bob", "over REST", False)
    assert (second["user_id"], second["isMine"]) == ("alice", True)
    assert second["seq"] == first["seq"] + 1
    await alice.disconnect()


async def test_typing_is_not_sent_to_legacy_clients_other_events_stay_json(general_room, user, other_user):
    alice = await open_socket(LEGACY, user=user)
    bob = await open_socket(NEW, user=other_user)
    message = await send_async(other_user, "to be deleted")
    assert (await legacy_frame(alice))["id"] == message.pk

    await bob.send(type="typing")
    assert await alice.receive_nothing(0.3)
    await database_sync_to_async(message_delete)(actor=other_user, message_id=message.pk)

    deleted = await new_frame_of_type(alice, "message_deleted")
    assert deleted["id"] == message.pk
    await alice.disconnect()
    await bob.disconnect()


BAD_LEGACY_FRAMES = [
    ("not json", "invalid_json"),
    ("[1, 2]", "invalid_frame"),
    ('{"user_id": "null", "mtype": "message"}', "invalid_field"),
    ('{"user_id": "null", "content": 42, "mtype": "message"}', "invalid_field"),
    ('{"user_id": "null", "content": null, "mtype": "message"}', "invalid_field"),
    ('{"user_id": "null", "content": "", "mtype": "message"}', "empty"),
    ('{"user_id": "null", "content": "x", "mtype": "connect"}', "unknown_type"),
    ('{"user_id": "null", "content": "x", "mtype": 7}', "unknown_type"),
    ('{"content": "' + "x" * 4001 + '", "mtype": "message"}', "too_long"),
    ('{"content": "hi", "client_id": 7}', "invalid_field"),
    ('{"user_id": "null", "timestamp": "now"}', "unknown_type"),
]


@pytest.mark.parametrize(("text", "code"), BAD_LEGACY_FRAMES)
async def test_bad_frames_get_an_error_frame_and_the_socket_stays_usable(general_room, user, text, code):
    alice = await open_socket(LEGACY, user=user)

    await alice.send_to(text_data=text)
    error = await new_frame_of_type(alice, "error")
    await alice.send_to(text_data=json.dumps(back_chat_frame("after the error")))
    after = await legacy_frame(alice)

    assert error["code"] == code
    assert error["detail"]
    assert after["seq"] == 1  # nothing was stored by the bad frame
    assert await stored() == [("alice", "after the error")]
    await alice.disconnect()


async def test_binary_frames_get_an_error_frame(general_room, user):
    alice = await open_socket(LEGACY, user=user)

    await alice.send_to(bytes_data=b'{"content": "hi", "mtype": "message"}')

    assert (await new_frame_of_type(alice, "error"))["code"] == "binary_frame"
    await alice.disconnect()


@pytest.mark.parametrize("path", [LEGACY, LEGACY_NOTIFICATIONS])
async def test_the_legacy_sockets_need_a_valid_token(general_room, path):
    for token in (None, "not-a-token"):
        client = make_socket(path, token=token)
        connected, _ = await client.connect()
        assert connected
        assert await client.closed_with() == 4401
        await client.disconnect()


async def test_an_unknown_room_closes_with_4404_like_the_new_path(general_room, user):
    client = make_socket(LEGACY, user=user, room="nowhere")
    await client.connect()

    assert await client.closed_with() == 4404
    await client.disconnect()


async def test_the_legacy_socket_frames_are_checked_against_its_own_channel():
    """A new-protocol message frame is right on /ws/messages/ and wrong on /ws/messages."""

    async def drifted_server(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        frame = document()["components"]["messages"]["Message"]["examples"][0]["payload"]
        await send({"type": "websocket.send", "text": json.dumps(frame)})
        await receive()

    client = Client(drifted_server, LEGACY)
    await client.connect()

    with pytest.raises(jsonschema.ValidationError, match="not a frame type on /ws/messages"):
        await client.frame()
    await client.disconnect()


# --- /ws/notifications ---------------------------------------------------------------------------------------


async def test_notifications_still_arrive_on_the_legacy_path(general_room, user, other_user):
    bob = await open_socket(LEGACY_NOTIFICATIONS, user=other_user)

    await send_async(user, "ping @bob")

    frame = await new_frame_of_type(bob, "notification")
    assert frame["notification"]["kind"] == "mention"
    await bob.disconnect()


async def test_a_back_chat_notification_goes_to_everyone_and_only_admins_may_send_it(general_room, user, staff_user):
    carol = await database_sync_to_async(make_user)("carol")
    alice = await open_socket(LEGACY_NOTIFICATIONS, user=user)
    root = await open_socket(LEGACY_NOTIFICATIONS, user=staff_user)
    carol_socket = await open_socket("/ws/notifications/", user=carol)

    await alice.send_to(text_data=json.dumps(back_chat_frame("Everyone!")))
    refused = await new_frame_of_type(alice, "error")
    await root.send_to(text_data=json.dumps(back_chat_frame("Maintenance at 18:00\nAbout an hour.")))
    sent = await new_frame_of_type(root, "ack")

    assert refused["code"] == "permission_denied"
    assert sent == {"type": "ack", "sent": 2}
    notification = (await carol_socket.frames_until("notification"))[-1]["notification"]
    assert (notification["title"], notification["body"]) == ("Maintenance at 18:00", "About an hour.")
    for client in (alice, root, carol_socket):
        await client.disconnect()


async def test_new_frames_and_bad_frames_on_the_legacy_notifications_path(general_room, user):
    alice = await open_socket(LEGACY_NOTIFICATIONS, user=user)

    await alice.send_to(text_data="{not json")
    error = await new_frame_of_type(alice, "error")
    await alice.send(type="read", all=True)
    ack = await new_frame_of_type(alice, "ack")

    assert error["code"] == "invalid_json"
    assert ack == {"type": "ack", "updated": 0}
    await alice.disconnect()


# --- the translations themselves --------------------------------------------------------------------------------


def test_a_back_chat_frame_becomes_a_new_message_frame_keeping_only_what_the_server_trusts():
    assert compat.message_frame(back_chat_frame("hi", attachments=[3])) == {
        "type": "message",
        "content": "hi",
        "attachments": [3],
    }
    new = {"type": "typing", "content": "ignored"}
    assert compat.message_frame(new) is new


def test_a_long_back_chat_notification_keeps_its_whole_text_in_the_body():
    frame = compat.notification_frame({"content": "x" * 250, "mtype": "message"})

    assert (len(frame["title"]), frame["body"]) == (200, "x" * 250)
    with pytest.raises(InvalidField, match="content must be a string"):
        compat.notification_frame({"content": ["x"]})


def test_a_hub_frame_is_reshaped_once_for_all_legacy_recipients():
    compat._reshaped.cache_clear()
    payload = {
        "id": 9, "seq": 4, "room": "general", "sender": {"id": 1, "username": "ana", "display_name": ""},
        "content": "hey", "created_at": "2025-01-01T00:00:00Z", "edited_at": None, "client_id": None,
        "reply_to": None, "deleted": False, "attachments": [],
    }  # fmt: skip
    frame = json.dumps({"type": "message", "message": payload})

    texts = [compat.legacy_text(frame, recipient_id=recipient) for recipient in (1, 2, 3)]

    shapes = [json.loads(text or "null") for text in texts]
    assert shapes[0]["isMine"] is True
    assert shapes[1]["isMine"] is shapes[2]["isMine"] is False
    assert texts[1] is texts[2]
    assert compat._reshaped.cache_info().misses == 1
    assert compat.legacy_text('{"type":"typing","user":{"id":1,"username":"ana"}}', recipient_id=2) is None
    purged = '{"type":"messages_purged","room":null}'
    assert compat.legacy_text(purged, recipient_id=2) is purged


def test_legacy_message_sockets_never_take_the_direct_write_of_shared_bytes():
    socket = compat.LegacyMessagesConsumer()
    socket.wire = object()  # as if daphne's connection were at hand
    socket.buffer = None

    assert socket.direct() is None  # type: ignore[func-returns-value]  # the test is that it returns nothing


# --- Token lifetime on back_chat's paths (CHAT_LEGACY_TOKEN_CHECK) ------------------------------------------


def short_token(user, seconds: float) -> str:
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=seconds))
    return str(token)


@pytest.mark.parametrize("path", [LEGACY, LEGACY_NOTIFICATIONS])
async def test_by_default_the_token_is_checked_at_the_handshake_only(general_room, user, path):
    client = await open_socket(path, token=short_token(user, 1))

    arrival = await client.frame()  # the user's own arrival: connect, or presence on /ws/notifications
    assert arrival.get("mtype", arrival.get("type")) in {"connect", "presence"}
    assert await client.receive_nothing(1.5)  # past exp: still open
    await client.send(type="auth", token=short_token(user, 60))  # auth works here too
    assert (await new_frame_of_type(client, "auth_ok"))["exp"] > 0
    await client.disconnect()


@pytest.mark.parametrize("path", [LEGACY, LEGACY_NOTIFICATIONS])
async def test_with_expiry_the_legacy_paths_close_like_the_new_ones(general_room, user, settings, path):
    settings.CHAT_LEGACY_TOKEN_CHECK = "expiry"
    client = await open_socket(path, token=short_token(user, 1))

    assert await client.closed_with(timeout=3) == 4401


async def test_an_expired_token_is_still_refused_at_the_handshake(general_room, user):
    client = make_socket(LEGACY, token=short_token(user, -5))

    connected, _ = await client.connect()

    assert connected
    assert await client.closed_with() == 4401


@pytest.mark.parametrize(
    ("change", "code"),
    [({"is_active": False}, 4403), ({"password": "An0ther-passw0rd!"}, 4401)],
    ids=["deactivated", "password-changed"],
)
async def test_deactivation_and_password_change_still_close_at_once(general_room, user, staff_user, change, code):
    from users.services import user_update

    messages = await open_socket(LEGACY, token=short_token(user, 1))
    notifications = await open_socket(LEGACY_NOTIFICATIONS, token=short_token(user, 1))

    await database_sync_to_async(user_update)(actor=staff_user, user=user, data=change)

    assert await messages.closed_with() == code
    assert await notifications.closed_with() == code


async def test_deleting_the_user_still_closes_at_once(general_room, user, staff_user):
    from users.services import user_delete

    client = await open_socket(LEGACY, token=short_token(user, 1))

    await database_sync_to_async(user_delete)(actor=staff_user, user=user)

    assert await client.closed_with() == 4403


# --- connect / disconnect -----------------------------------------------------------------------------------


async def test_people_coming_and_going_are_connect_and_disconnect_frames(general_room, user, other_user):
    alice = await open_socket(LEGACY, user=user)
    mine = await legacy_frame(alice, mtype="connect")
    assert (mine["user_id"], mine["isMine"], mine["user"]["id"]) == ("alice", True, user.pk)

    bob = await open_socket(LEGACY_NOTIFICATIONS, user=other_user)
    came = await legacy_frame(alice, mtype="connect")
    second_bob = await open_socket(NEW, user=other_user)  # not his first socket: nothing
    await second_bob.disconnect()
    await bob.disconnect()
    went = await legacy_frame(alice, mtype="disconnect")

    assert (came["user_id"], came["isMine"], came["content"]) == ("bob", False, "Bob connected")
    assert came["user"] == {"id": other_user.pk, "username": "bob", "display_name": "Bob"}
    assert (went["user_id"], went["mtype"], went["content"]) == ("bob", "disconnect", "Bob disconnected")
    assert came["timestamp"].endswith("Z")
    assert await alice.receive_nothing(0.2)
    await alice.disconnect()


async def test_new_room_sockets_get_no_presence(general_room, user, other_user):
    alice = await open_socket(NEW, user=user)

    bob = await open_socket(LEGACY, user=other_user)
    await bob.disconnect()

    assert await alice.receive_nothing(0.3)
    await alice.disconnect()


def test_presence_frames_are_reshaped_once_per_frame():
    from realtime import protocol
    from realtime.kernel import encode

    frame = encode(protocol.presence(user_id=7, username="eve", display_name="", online=False))

    mine = json.loads(compat.legacy_presence_text(frame, recipient_id=7) or "null")
    theirs = json.loads(compat.legacy_presence_text(frame, recipient_id=8) or "null")

    assert (mine["isMine"], theirs["isMine"]) == (True, False)
    assert mine["timestamp"] == theirs["timestamp"]
    assert theirs["content"] == "eve disconnected"
    assert compat.legacy_presence_text(encode({"type": "notification"}), recipient_id=7) is None
