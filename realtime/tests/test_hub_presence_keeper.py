"""The presence keeper on its own, over a store in memory: caps, one announcement per user, heartbeats."""

from __future__ import annotations

import asyncio
import json

import pytest

from realtime.hub.presence_keeper import PresenceKeeper
from realtime.kernel import EveryoneFrame, outbox
from realtime.presence import Admission, Heartbeat
from realtime.tests.fakes import FakeSocket


class MemoryStore:
    """Sockets per user across "processes", like the real stores, with a limit."""

    def __init__(self) -> None:
        self.clients: dict[str, int] = {}
        self.beat = Heartbeat(was_registered=True)

    async def admit(self, *, client: str, user_id: int, limit: int) -> Admission:
        mine = [c for c, u in self.clients.items() if u == user_id]
        if limit and len(mine) >= limit:
            return Admission.REFUSED
        self.clients[client] = user_id
        return Admission.ANOTHER if mine else Admission.FIRST

    async def add(self, *, client: str, user_id: int) -> bool:
        return await self.admit(client=client, user_id=user_id, limit=0) is Admission.FIRST

    async def remove(self, *, client: str, user_id: int) -> bool:
        if self.clients.pop(client, None) is None:
            return False
        return user_id not in self.clients.values()

    async def heartbeat(self) -> Heartbeat:
        return self.beat

    async def close(self) -> None:
        return None

    def clients_sync(self) -> list[str]:
        return list(self.clients)


@pytest.fixture
def announced():
    """The presence frames published, as (user id, status)."""
    seen: list[tuple[int, str]] = []

    def record(event) -> None:
        if isinstance(event, EveryoneFrame):
            frame = json.loads(event.frame)
            seen.append((frame["user"]["id"], frame["status"]))

    stop = outbox.observe(record)
    yield seen
    stop()


def keeper(store: MemoryStore | None = None) -> PresenceKeeper:
    return PresenceKeeper(store or MemoryStore(), slots=asyncio.Semaphore(10))


async def test_a_users_first_socket_announces_once_registered_and_the_last_one_out_says_goodbye(announced):
    presence = keeper()
    phone, laptop = FakeSocket(1), FakeSocket(1)

    assert await presence.admit(phone)
    assert await presence.admit(laptop)
    assert announced == []
    presence.registered(phone)
    presence.registered(laptop)
    await presence.release(phone)
    await presence.release(laptop)

    assert announced == [(1, "online"), (1, "offline")]
    assert presence.admitted == {}
    assert not presence.addresses


async def test_a_first_socket_that_closes_before_registering_hands_online_to_the_others(announced):
    presence = keeper()
    first, second = FakeSocket(1), FakeSocket(1)
    await presence.admit(first)
    await presence.admit(second)

    await presence.release(first)

    assert announced == [(1, "online")]


async def test_the_caps_per_address_and_per_user_refuse_and_keep_nothing(settings):
    settings.CHAT_MAX_SOCKETS_PER_IP, settings.CHAT_MAX_SOCKETS_PER_USER = 2, 1
    presence = keeper()

    assert await presence.admit(FakeSocket(1, client="1@10.0.0.1:1"))
    assert not await presence.admit(FakeSocket(1, client="1@10.0.0.1:2"))  # the user's cap
    assert await presence.admit(FakeSocket(2, client="2@10.0.0.1:3"))
    assert not await presence.admit(FakeSocket(3, client="3@10.0.0.1:4"))  # the address's cap

    assert presence.addresses == {"10.0.0.1": 2}
    assert len(presence.admitted) == 2


async def test_an_unreachable_store_admits(settings):
    class Down(MemoryStore):
        async def admit(self, **kwargs) -> Admission:
            raise ConnectionError("refused")

    presence = keeper(Down())

    assert await presence.admit(FakeSocket(1))


async def test_a_heartbeat_that_finds_us_forgotten_registers_us_again(announced):
    store = MemoryStore()
    presence = keeper(store)
    socket = FakeSocket(1)
    await presence.admit(socket)
    presence.registered(socket)
    store.clients.clear()  # Redis restarted
    store.beat = Heartbeat(was_registered=False)

    await presence.beat()

    assert store.clients == {socket.client: 1}
    assert announced == [(1, "online"), (1, "online")]


@pytest.mark.django_db(transaction=True)
async def test_users_of_a_dead_process_are_announced_offline(announced):
    store = MemoryStore()
    store.beat = Heartbeat(was_registered=True, offline_user_ids=[41, 42])

    await keeper(store).beat()

    assert announced == [(41, "offline"), (42, "offline")]
