"""A socket on the ASGI path (no direct daphne connection) that stops reading holds up nobody else."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from messaging.tests.factories import send
from realtime.tests.sockets import make_socket, open_socket
from realtime.tests.test_socket_failures import connect_and_register

pytestmark = pytest.mark.django_db(transaction=True)

send_async = database_sync_to_async(send)


async def test_a_reader_that_stops_reading_is_closed_and_the_others_keep_receiving(
    general_room, user, other_user, settings
):
    settings.CHAT_SLOW_READER_LIMIT = 2000
    reader = await open_socket(user=other_user)
    stuck_client = make_socket(user=user)
    stuck = await connect_and_register(stuck_client)
    unblocked = asyncio.Event()
    original = stuck.base_send

    async def hanging_send(message):
        if message["type"] == "websocket.send":
            await unblocked.wait()  # the client stopped reading: the server's send never returns
        await original(message)

    stuck.base_send = hanging_send
    for index in range(6):
        await send_async(other_user, f"{index} " + "x" * 500)
    received = [(await reader.frames_until("message"))[-1]["message"]["content"][0] for _ in range(6)]

    assert received == ["0", "1", "2", "3", "4", "5"]
    assert stuck.closing_slow  # its queue passed CHAT_SLOW_READER_LIMIT: closed with 1013, not waited for
    unblocked.set()
    assert await stuck_client.closed_with() == 1013
    await reader.disconnect()
    await stuck_client.disconnect()
