"""The socket and delivery metrics move with traffic: sockets open, handshakes and closes by code,
deliveries and their lag from commit, hub events, resyncs; and ``/metrics`` shows them."""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from prometheus_client import REGISTRY

from messaging.tests.factories import send
from realtime.hub import get_hub
from realtime.hub.delivery import deliver_all
from realtime.kernel import RoomFrame, outbox
from realtime.tests.fakes import FakeSocket
from realtime.tests.sockets import make_socket, open_socket
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)

send_async = database_sync_to_async(send)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """Metric values now, to compare with later ones."""

    def __init__(self, *keys: tuple[str, dict[str, str]]) -> None:
        self.keys = keys
        self.before = [sample(name, **labels) for name, labels in keys]

    def now(self) -> list[float]:
        return [sample(name, **labels) - before for (name, labels), before in zip(self.keys, self.before, strict=True)]


async def test_open_sockets_connects_and_closes_by_code_are_counted(general_room):
    user = await database_sync_to_async(make_user)()
    delta = Delta(
        ("chat_sockets_open", {"kind": "messages"}),
        ("chat_sockets_open", {"kind": "notifications"}),
        ("chat_socket_connects_total", {"kind": "messages"}),
        ("chat_socket_closes_total", {"kind": "messages", "code": "1000"}),
        ("chat_socket_closes_total", {"kind": "messages", "code": "other"}),
        ("chat_socket_closes_total", {"kind": "messages", "code": "4401"}),
    )

    first = await open_socket(user=user)
    second = await open_socket(user=user)
    notes = await open_socket("/ws/notifications/", user=user)
    assert delta.now()[:3] == [2, 1, 2]

    await first.disconnect(code=1000)
    await second.disconnect(code=3999)  # a code of the client's choosing is not a label of its own
    await notes.disconnect()
    refused = make_socket(token="not-a-token")
    await refused.connect()
    assert await refused.closed_with() == 4401
    await refused.disconnect()
    await asyncio.sleep(0.05)

    assert delta.now() == [0, 0, 3, 1, 1, 1]


async def test_a_message_counts_deliveries_and_its_lag_from_commit_once_per_broadcast(general_room):
    alice, bob = await database_sync_to_async(make_user)(), await database_sync_to_async(make_user)()
    readers = [await open_socket(user=bob) for _ in range(3)]
    delta = Delta(
        ("chat_deliveries_total", {"path": "fallback"}),
        ("chat_delivery_lag_seconds_count", {}),
        ("chat_hub_events_total", {"event": "room", "source": "local"}),
    )

    await send_async(alice, "measured")
    for reader in readers:
        assert (await reader.frame())["type"] == "message"

    # Three sockets written (the test server has no daphne fast path), one lag observation, one event.
    assert delta.now() == [3, 1, 1]
    assert sample("chat_delivery_lag_seconds_sum") > 0
    for reader in readers:
        await reader.disconnect()


async def test_the_lag_is_measured_from_the_commit_carried_by_the_event():
    socket = FakeSocket()
    delta = Delta(("chat_delivery_lag_seconds_bucket", {"le": "2.5"}), ("chat_delivery_lag_seconds_count", {}))

    deliver_all([socket], "{}", committed_at=time.time() - 5)  # committed five seconds ago (another process)
    deliver_all([socket], "{}")  # read from the database: no commit time, no observation
    deliver_all([], "{}", committed_at=time.time())  # nobody here to write to

    assert delta.now() == [0, 1]


async def test_events_a_hub_submits_carry_their_commit_time_to_the_layer(monkeypatch):
    hub = await get_hub()
    before = time.time()
    sent: list[dict] = []
    monkeypatch.setattr(hub.link, "forward", lambda event, at=None: sent.append(outbox.wire_message(event, at)))

    await database_sync_to_async(outbox.submit)(RoomFrame(room_id=1, frame="{}"))
    for _ in range(50):
        if sent:
            break
        await asyncio.sleep(0.01)

    committed_at = outbox.committed_time(sent[0])
    assert committed_at is not None
    assert before <= committed_at <= time.time()


def test_a_commit_time_from_the_wire_is_read_only_when_it_is_a_finite_number():
    assert outbox.committed_time({"at": 1.5}) == 1.5
    assert outbox.committed_time({"at": 2}) == 2.0
    for odd in ({}, {"at": "1.5"}, {"at": True}, {"at": float("nan")}, {"at": float("inf")}, {"at": None}):
        assert outbox.committed_time(odd) is None


async def test_a_resync_is_counted(general_room, settings):
    settings.CHAT_REPLAY_LIMIT = 2
    user = await database_sync_to_async(make_user)()
    for n in range(4):
        await send_async(user, f"m{n}")
    before = sample("chat_resyncs_total")

    client = await open_socket(user=user, last_seq=0)

    assert (await client.frame())["type"] == "resync"
    assert sample("chat_resyncs_total") - before == 1
    await client.disconnect()


async def test_metrics_are_scraped_while_sockets_are_open(general_room):
    user = await database_sync_to_async(make_user)()
    client = await open_socket(user=user)

    response = await database_sync_to_async(Client().get)("/metrics")

    text = response.content.decode()
    assert response.status_code == 200
    opened = next(line for line in text.splitlines() if line.startswith('chat_sockets_open{kind="messages"}'))
    assert float(opened.split()[-1]) >= 1
    await client.disconnect()
