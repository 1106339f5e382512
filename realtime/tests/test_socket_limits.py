"""Limits that hold across all of a user's sockets: one message and notification budget with REST, and
caps on sockets per user (every process, through presence) and per client address (4409)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from messaging.models import Message, Notification
from messaging.tests.factories import send
from realtime import presence
from realtime.hub import get_hub
from realtime.kernel import closecodes
from realtime.tests.sockets import make_socket, open_socket
from users.tests.factories import make_user, token_for

pytestmark = pytest.mark.django_db(transaction=True)


def rest_post(user, path: str, body: dict) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client.post(path, body, format="json").status_code


rest_post_async = database_sync_to_async(rest_post)
send_async = database_sync_to_async(send)
count_messages = database_sync_to_async(Message.objects.count)
count_notifications = database_sync_to_async(Notification.objects.count)
connected_clients = database_sync_to_async(presence.connected_clients)


async def reply_to(client, frame: dict) -> dict:
    """Send a frame and return the server's ack or error for it."""
    await client.send(**frame)
    while True:
        answer: dict[str, Any] = await client.frame()
        if answer["type"] in {"ack", "error"}:
            return answer


# --- budgets shared by every socket and REST -------------------------------------------------------------


async def test_rest_and_every_socket_of_a_user_share_one_message_budget(general_room, user, settings):
    settings.CHAT_MESSAGE_RATE = "3/min"
    tab1 = await open_socket(user=user)
    tab2 = await open_socket(user=user)

    rest = [await rest_post_async(user, "/api/v1/messages/", {"content": f"rest {i}"}) for i in range(2)]
    acked = await reply_to(tab1, {"type": "message", "content": "tab 1", "client_id": "t1"})
    refused = await reply_to(tab2, {"type": "message", "content": "tab 2", "client_id": "t2"})

    assert rest == [201, 201]
    assert acked["type"] == "ack"
    assert refused == {
        "type": "error",
        "code": "rate_limited",
        "detail": "You are sending messages too fast. Try again in 20 s.",
        "retry_after": 20,
        "client_id": "t2",
    }
    assert await count_messages() == 3
    assert await rest_post_async(user, "/api/v1/messages/", {"content": "rest again"}) == 429
    await tab1.disconnect()
    await tab2.disconnect()


async def test_an_acked_message_sent_again_over_budget_is_acked_again(general_room, user, settings):
    settings.CHAT_MESSAGE_RATE = "1/min"
    tab = await open_socket(user=user)
    first = await reply_to(tab, {"type": "message", "content": "hello", "client_id": "once"})
    refused = await reply_to(tab, {"type": "message", "content": "next", "client_id": "next"})

    again = await reply_to(tab, {"type": "message", "content": "hello", "client_id": "once"})

    assert refused["code"] == "rate_limited"
    assert again == first
    assert await count_messages() == 1
    await tab.disconnect()


async def test_ten_sockets_cannot_go_on_notifying_after_rest_was_refused(general_room, user, other_user, settings):
    settings.CHAT_NOTIFICATION_RATE = "5/min"
    rest = [await rest_post_async(user, "/api/v1/notifications/", {"to": [other_user.pk], "title": "x"})]
    while rest[-1] == 201:
        rest.append(await rest_post_async(user, "/api/v1/notifications/", {"to": [other_user.pk], "title": "x"}))
    sockets = [await open_socket("/ws/notifications/", user=user) for _ in range(10)]

    answers = [await reply_to(s, {"type": "notification", "to": [other_user.pk], "title": "spam"}) for s in sockets]

    assert rest == [201] * 5 + [429]
    assert {answer.get("code") for answer in answers} == {"rate_limited"}
    assert await count_notifications() == 5
    for client in sockets:
        await client.disconnect()


# --- sockets per user -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ws/messages/", "/ws/notifications/", "/ws/messages", "/ws/notifications"])
async def test_a_socket_beyond_the_users_cap_is_closed_with_4409_and_leaves_no_trace(
    general_room, user, settings, path
):
    settings.CHAT_MAX_SOCKETS_PER_USER = 2
    tabs = [await open_socket(user=user), await open_socket("/ws/notifications/", user=user)]
    hub = await get_hub()
    before = sorted(await connected_clients())
    extra = make_socket(path, user=user)

    connected, _ = await extra.connect()

    assert connected  # accepted first, so that a browser can read the code
    assert await extra.closed_with() == closecodes.TOO_MANY_SOCKETS
    assert sorted(await connected_clients()) == before
    assert len(before) == 2
    assert sorted(socket.client for socket in hub.presence.admitted) == before  # not the refused one
    assert len(hub.presence.admitted) == len(hub.registry.sockets) == len(hub.registry.users[user.pk]) == 2
    assert hub.presence.addresses == {"127.0.0.1": 2}
    for tab in tabs:
        await tab.disconnect()


async def test_a_refused_socket_is_subscribed_to_nothing_and_announces_nothing(
    general_room, user, other_user, settings
):
    settings.CHAT_MAX_SOCKETS_PER_USER = 1
    watcher = await open_socket("/ws/notifications/", user=other_user)
    tab = await open_socket(user=user)
    while (await watcher.frames_until("presence"))[-1]["user"]["id"] != user.pk:
        pass  # its own arrival first
    await send_async(user, "something to replay")
    extra = make_socket(user=user, last_seq=0)

    await extra.connect()
    output = await extra.receive_output()

    assert (output["type"], output["code"]) == ("websocket.close", closecodes.TOO_MANY_SOCKETS)  # no history
    assert await watcher.receive_nothing(0.3)  # and no presence frame for it, coming or going
    await tab.disconnect()
    await watcher.disconnect()


async def test_closing_a_socket_makes_room_for_another(general_room, user, settings):
    settings.CHAT_MAX_SOCKETS_PER_USER = 1
    first = await open_socket(user=user)
    refused = make_socket(user=user)
    await refused.connect()
    assert await refused.closed_with() == closecodes.TOO_MANY_SOCKETS

    await first.disconnect()
    replacement = await open_socket(user=user)

    assert len(await connected_clients()) == 1
    await replacement.disconnect()


async def test_the_cap_counts_the_users_sockets_in_other_processes(general_room, user, other_user, settings):
    settings.CHAT_MAX_SOCKETS_PER_USER = 3
    elsewhere = presence.get_backend(process_id="another-server")
    for port in (1, 2):
        await elsewhere.add(client=f"{user.pk}@10.0.0.9:{port}", user_id=user.pk)
    try:
        here = await open_socket(user=user)
        refused = make_socket(user=user)
        await refused.connect()

        assert await refused.closed_with() == closecodes.TOO_MANY_SOCKETS
        other = await open_socket(user=other_user)  # a per-user cap, not a global one
        await here.disconnect()
        await other.disconnect()
    finally:
        for port in (1, 2):
            await elsewhere.remove(client=f"{user.pk}@10.0.0.9:{port}", user_id=user.pk)
        await elsewhere.close()


# --- sockets per address --------------------------------------------------------------------------------


async def test_sockets_per_client_address_are_capped(general_room, user, settings):
    settings.CHAT_MAX_SOCKETS_PER_IP = 2
    people = [user, *[await database_sync_to_async(make_user)() for _ in range(2)]]
    first, second = [await open_socket(user=person) for person in people[:2]]
    refused = make_socket(user=people[2])
    elsewhere = make_socket(user=people[2])
    elsewhere.scope["client"] = ("10.1.2.3", 5555)

    await refused.connect()
    closed = await refused.closed_with()
    await elsewhere.connect()
    hub = await get_hub()
    for _ in range(200):
        if hub.presence.addresses.get("10.1.2.3"):
            break
        await asyncio.sleep(0.01)

    assert closed == closecodes.TOO_MANY_SOCKETS
    assert hub.presence.addresses == {"127.0.0.1": 2, "10.1.2.3": 1}
    await first.disconnect()
    await second.disconnect()
    await elsewhere.disconnect()
    assert not hub.presence.addresses


async def test_clients_of_unknown_address_are_not_lumped_together(general_room, user, settings):
    settings.CHAT_MAX_SOCKETS_PER_IP = 1
    sockets = [make_socket(user=user) for _ in range(2)]
    for client in sockets:
        client.scope["client"] = None  # a Unix socket without proxy headers

    for client in sockets:
        await client.connect()
    hub = await get_hub()
    for _ in range(200):
        if len(hub.registry.sockets) == 2:
            break
        await asyncio.sleep(0.01)

    assert len(hub.registry.sockets) == 2
    assert not hub.presence.addresses
    for client in sockets:
        await client.disconnect()
