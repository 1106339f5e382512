import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async

from messaging.models import Notification
from messaging.services import direct_room_get_or_create
from messaging.tests.factories import send
from realtime.tests.sockets import open_socket
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)

send_async = database_sync_to_async(send)


async def frames_of_type(client, frame_type, count=1, timeout=2):
    found: list[dict[str, Any]] = []
    while len(found) < count:
        frame = await client.frame(timeout)
        if frame["type"] == frame_type:
            found.append(frame)
    return found


async def test_a_mention_reaches_every_device_of_the_mentioned_user(general_room, user, other_user):
    phone = await open_socket("/ws/notifications/", user=other_user)
    laptop = await open_socket("/ws/notifications/", user=other_user)

    await send_async(user, "ping @bob")

    for device in (phone, laptop):
        (frame,) = await frames_of_type(device, "notification")
        assert frame["notification"]["kind"] == "mention"
        assert frame["notification"]["data"]["room"] == "general"
        assert frame["notification"]["read_at"] is None
    await phone.disconnect()
    await laptop.disconnect()


async def test_notifications_are_stored_for_offline_users(general_room, user, other_user):
    await send_async(user, "@bob are you there?")

    assert await database_sync_to_async(Notification.objects.filter(recipient=other_user).count)() == 1


async def test_direct_messages_notify_the_other_person(general_room, user, other_user):
    room, _ = await database_sync_to_async(direct_room_get_or_create)(actor=user, other=other_user)
    bob = await open_socket("/ws/notifications/", user=other_user)

    await send_async(user, "psst", room=room)

    (frame,) = await frames_of_type(bob, "notification")
    assert frame["notification"]["kind"] == "direct_message"
    await bob.disconnect()


async def test_presence_goes_out_on_first_open_and_last_close_only(general_room, user, other_user):
    watcher = await open_socket("/ws/notifications/", user=user)
    (own,) = await frames_of_type(watcher, "presence")
    assert own["user"]["id"] == user.pk

    bob1 = await open_socket(user=other_user)
    bob2 = await open_socket("/ws/notifications/", user=other_user)
    (online,) = await frames_of_type(watcher, "presence")
    await bob1.disconnect()
    assert await watcher.receive_nothing(0.2)
    await bob2.disconnect()
    (offline,) = await frames_of_type(watcher, "presence")

    assert online == {
        "type": "presence",
        "user": {"id": other_user.pk, "username": "bob", "display_name": "Bob"},
        "status": "online",
    }
    assert offline["status"] == "offline"
    await watcher.disconnect()


async def test_presence_reaches_notification_sockets_only_and_forgets_closed_ones(general_room, user, other_user):
    from realtime.hub import get_hub

    watcher = await open_socket("/ws/notifications/", user=user)
    await frames_of_type(watcher, "presence")  # the user's own first socket
    chat = await open_socket(user=user)
    bob = await open_socket("/ws/notifications/", user=other_user)

    (online,) = await frames_of_type(watcher, "presence")
    assert online["user"]["id"] == other_user.pk
    assert await chat.receive_nothing(0.2)

    hub = await get_hub()
    assert len(hub.registry.by_kind["notifications"]) == 2
    await bob.disconnect()
    (offline,) = await frames_of_type(watcher, "presence")
    assert offline["status"] == "offline"
    assert len(hub.registry.by_kind["notifications"]) == 1
    await watcher.disconnect()
    await chat.disconnect()
    for _ in range(200):
        if not hub.registry.sockets:
            break
        await asyncio.sleep(0.01)
    assert not any(hub.registry.by_kind.values())


async def test_a_user_can_notify_someone_they_share_a_room_with(general_room, user, other_user):
    alice = await open_socket("/ws/notifications/", user=user)
    bob = await open_socket("/ws/notifications/", user=other_user)

    await alice.send(type="notification", to=[other_user.pk], title="Lunch?", body="12:30")

    assert (await frames_of_type(alice, "ack"))[0] == {"type": "ack", "sent": 1}
    (frame,) = await frames_of_type(bob, "notification")
    assert frame["notification"]["kind"] == "user"
    assert frame["notification"]["title"] == "Lunch?"
    await alice.disconnect()
    await bob.disconnect()


async def test_only_admins_notify_everyone(general_room, user, staff_user):
    carol = await database_sync_to_async(make_user)("carol")
    alice = await open_socket("/ws/notifications/", user=user)
    root = await open_socket("/ws/notifications/", user=staff_user)
    carol_socket = await open_socket("/ws/notifications/", user=carol)

    await alice.send(type="notification", to="all", title="Everyone!")
    refused = (await frames_of_type(alice, "error"))[0]
    await root.send(type="notification", to="all", title="Maintenance at 18:00")
    sent = (await frames_of_type(root, "ack"))[0]

    assert refused["code"] == "permission_denied"
    assert sent["sent"] == 2
    assert (await frames_of_type(carol_socket, "notification"))[0]["notification"]["title"] == "Maintenance at 18:00"
    for client in (alice, root, carol_socket):
        await client.disconnect()


async def test_read_marks_notifications_and_tells_other_devices(general_room, user, other_user):
    carol = await database_sync_to_async(make_user)("carol")
    await send_async(user, "@bob one")
    await send_async(carol, "@bob two")
    phone = await open_socket("/ws/notifications/", user=other_user)
    laptop = await open_socket("/ws/notifications/", user=other_user)

    await phone.send(type="read", all=True)

    assert (await frames_of_type(phone, "ack"))[0] == {"type": "ack", "updated": 2}
    assert (await frames_of_type(laptop, "notifications_read"))[0] == {"type": "notifications_read", "ids": None}
    await phone.disconnect()
    await laptop.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "notification", "to": [], "title": "x"}, "invalid_field"),
        ({"type": "notification", "to": "someone", "title": "x"}, "invalid_field"),
        ({"type": "notification", "to": [True], "title": "x"}, "invalid_field"),
        ({"type": "notification", "to": [1], "title": 5}, "invalid_field"),
        ({"type": "notification", "to": [1]}, "invalid_field"),
        ({"type": "notification", "to": [1], "title": "x" * 201}, "too_long"),
        ({"type": "notification", "to": [424242], "title": "x"}, "invalid_recipients"),
        ({"type": "read"}, "invalid_field"),
        ({"type": "read", "ids": "1"}, "invalid_field"),
        ({"type": "read", "ids": []}, "invalid_field"),
        ({"type": "message", "content": "wrong socket"}, "unknown_type"),
    ],
)
async def test_bad_notification_frames_get_error_frames(general_room, user, frame, code):
    alice = await open_socket("/ws/notifications/", user=user)

    await alice.send(**frame)

    assert (await frames_of_type(alice, "error"))[0]["code"] == code
    await alice.send(type="read", all=True)
    assert (await frames_of_type(alice, "ack"))[0]["type"] == "ack"
    await alice.disconnect()


async def test_notification_frames_are_rate_limited(general_room, user, other_user, settings):
    settings.CHAT_NOTIFICATION_RATE = "5/min"
    alice = await open_socket("/ws/notifications/", user=user)

    codes = []
    for _ in range(7):
        await alice.send(type="notification", to=[other_user.pk], title="spam")
        frame = await alice.frame()
        while frame["type"] not in {"ack", "error"}:
            frame = await alice.frame()
        codes.append(frame.get("code", "ack"))

    assert codes[:5] == ["ack"] * 5
    assert codes[5:] == ["rate_limited", "rate_limited"]
    await alice.disconnect()


async def test_a_demoted_admin_cannot_notify_everyone_over_an_open_socket(general_room, staff_user):
    root = await open_socket("/ws/notifications/", user=staff_user)
    await database_sync_to_async(type(staff_user).objects.filter(pk=staff_user.pk).update)(is_staff=False)

    await root.send(type="notification", to="all", title="Still admin?")

    assert (await frames_of_type(root, "error"))[0]["code"] == "permission_denied"
    await root.disconnect()
