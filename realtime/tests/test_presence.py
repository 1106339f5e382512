import asyncio

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from realtime import presence
from realtime.tests.sockets import open_socket
from users.tests.factories import token_for

pytestmark = pytest.mark.django_db(transaction=True)


def get_json(user, path):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    response = client.get(path)
    return response.status_code, response.json()


async def test_connected_users_lists_sockets_per_user(general_room, user, other_user):
    alice_tab1 = await open_socket(user=user)
    alice_tab2 = await open_socket("/ws/notifications/", user=user)
    bob = await open_socket(user=other_user)
    await asyncio.sleep(0.1)

    status, users = await database_sync_to_async(get_json)(user, "/api/v1/connected-users/")
    _, clients = await database_sync_to_async(get_json)(user, "/connected_users")

    assert status == 200
    assert users == [
        {"id": user.pk, "username": "alice", "display_name": "Alice", "connections": 2},
        {"id": other_user.pk, "username": "bob", "display_name": "Bob", "connections": 1},
    ]
    assert len(clients["clients"]) == 3
    assert all(c.split("@")[0] in {str(user.pk), str(other_user.pk)} for c in clients["clients"])
    assert all(c.split("@")[1].startswith("127.0.0.1:") for c in clients["clients"])
    for client in (alice_tab1, alice_tab2, bob):
        await client.disconnect()
    await asyncio.sleep(0.1)
    assert await database_sync_to_async(presence.connected_clients)() == []


async def test_connected_users_needs_a_token(general_room):
    def anonymous():
        return APIClient().get("/api/v1/connected-users/").status_code, APIClient().get("/connected_users").status_code

    assert await database_sync_to_async(anonymous)() == (401, 401)


def test_a_dead_process_is_swept_after_its_expiry(user, other_user, settings):
    settings.CHAT_PRESENCE_EXPIRY = 0.2
    dead = presence.DatabasePresence(process_id="dead-process")
    alive = presence.DatabasePresence(process_id="alive-process")
    assert dead.add_sync(client=f"{user.pk}@10.0.0.1:1", user_id=user.pk) is True
    assert alive.add_sync(client=f"{other_user.pk}@10.0.0.2:2", user_id=other_user.pk) is True

    import time

    time.sleep(0.3)
    beat = alive.heartbeat_sync()

    assert beat.offline_user_ids == [user.pk]
    assert alive.clients_sync() == [f"{other_user.pk}@10.0.0.2:2"]


def test_first_and_last_socket_across_processes(user):
    one = presence.DatabasePresence(process_id="one")
    two = presence.DatabasePresence(process_id="two")

    assert one.add_sync(client="1@a:1", user_id=user.pk) is True
    assert two.add_sync(client="1@b:2", user_id=user.pk) is False
    assert one.remove_sync(client="1@a:1", user_id=user.pk) is False
    assert two.remove_sync(client="1@b:2", user_id=user.pk) is True
    assert two.remove_sync(client="1@b:2", user_id=user.pk) is False


async def test_a_presence_call_is_retried_once_after_a_broken_connection(transactional_db):
    """After a Redis restart each pooled connection fails once; a dropped remove would leave a ghost."""
    from realtime.hub import get_hub

    hub = await get_hub()
    calls = []

    async def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise ConnectionError("Connection lost")
        return True

    assert await hub.presence.call(flaky, client="1@127.0.0.1:1", user_id=1) is True
    assert len(calls) == 2


async def test_a_presence_store_that_keeps_failing_is_given_up_after_two_tries(transactional_db):
    from realtime.hub import get_hub

    hub = await get_hub()
    calls = []

    async def down(**kwargs):
        calls.append(kwargs)
        raise ConnectionError("refused")

    assert await hub.presence.call(down, client="1@127.0.0.1:1", user_id=1) is False
    assert len(calls) == 2
