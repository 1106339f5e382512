"""Connect storms: concurrent handshakes share their trips to the database (token users, presence),
and every rule of a single handshake still holds inside a batch."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from realtime import middleware, presence, protocol
from realtime.batching import Coalescer
from realtime.handshake_auth import authenticate_many
from realtime.presence import Admission
from realtime.presence.database_store import AdmitRequest
from realtime.tests.sockets import make_socket, open_socket
from users.tests.factories import make_user, token_for

# --- the coalescer -------------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    async def __call__(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(items)
        await asyncio.sleep(0.01)
        return [ValueError(item) if item < 0 else item * 10 for item in items]


async def test_calls_made_while_a_batch_runs_go_together_in_the_next():
    recorder = Recorder()
    coalesce: Coalescer[int, int] = Coalescer(recorder)

    first = asyncio.create_task(coalesce(1))
    await asyncio.sleep(0)  # the first batch is on its way
    rest = [asyncio.create_task(coalesce(n)) for n in (2, 3, 4)]

    assert await asyncio.gather(first, *rest) == [10, 20, 30, 40]
    assert recorder.batches == [[1], [2, 3, 4]]


async def test_a_lone_call_is_not_delayed_and_batches_are_bounded():
    recorder = Recorder()
    coalesce: Coalescer[int, int] = Coalescer(recorder, max_batch=2)

    assert await coalesce(7) == 70
    assert await asyncio.gather(*(coalesce(n) for n in range(1, 6))) == [10, 20, 30, 40, 50]
    assert recorder.batches == [[7], [1, 2], [3, 4], [5]]


async def test_each_caller_gets_its_own_error_and_a_failed_batch_fails_its_callers_only():
    calls = 0

    async def flaky(items: list[int]) -> list[int | BaseException]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database gone")
        return [ValueError("bad") if item < 0 else item for item in items]

    coalesce: Coalescer[int, int] = Coalescer(flaky)

    with pytest.raises(ConnectionError):
        await coalesce(1)
    results = await asyncio.gather(coalesce(2), coalesce(-1), return_exceptions=True)
    assert results[0] == 2
    assert isinstance(results[1], ValueError)


async def test_a_caller_that_gave_up_is_left_out():
    recorder = Recorder()
    coalesce: Coalescer[int, int] = Coalescer(recorder)
    first = asyncio.create_task(coalesce(1))
    await asyncio.sleep(0)
    gone = asyncio.create_task(coalesce(2))
    kept = asyncio.create_task(coalesce(3))
    await asyncio.sleep(0)
    gone.cancel()

    assert await first == 10
    assert await kept == 30
    assert recorder.batches == [[1], [3]]


# --- the token checks of a batch -----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_batch_reads_its_users_in_one_query_and_keeps_every_refusal():
    alice = make_user("alice")
    sleeper = make_user("sleeper", is_active=False)
    ghost = make_user("ghost")
    ghost_token = token_for(ghost)
    ghost.delete()
    changed = make_user("changed")
    stale_token = token_for(changed)
    changed.set_password("another-horse-battery-staple")
    changed.save()
    forged = token_for(alice)[:-4] + "AAAA"
    tokens = [token_for(alice), token_for(sleeper), ghost_token, stale_token, forged, "garbage", token_for(alice)]

    with CaptureQueriesContext(connection) as queries:
        outcomes = authenticate_many(tokens, middleware.authenticate_token, max_length=protocol.MAX_TOKEN_LENGTH)

    assert len(queries) == 1  # the users of every token, once
    codes = [o.user.username if isinstance(o, middleware.SocketLogin) else getattr(o, "code", o) for o in outcomes]
    refused = ["user_inactive", "user_not_found", "password_changed", "token_not_valid", "token_not_valid"]
    assert codes == ["alice", *refused, "alice"]
    first, second = outcomes[0], outcomes[-1]
    assert isinstance(first, middleware.SocketLogin)
    assert isinstance(second, middleware.SocketLogin)
    assert first.user is not second.user  # two sockets never share one instance
    assert first.user.pk == second.user.pk == alice.pk


@pytest.mark.django_db
def test_a_token_naming_someone_else_in_its_unverified_payload_gets_nothing():
    """The unverified payload only picks rows to read: a token signed with another key is refused."""
    import jwt

    victim = make_user("victim")
    payload = {"token_type": "access", "user_id": str(victim.pk), "exp": 4102444800, "jti": secrets.token_hex(8)}
    forged = jwt.encode(payload, "not-our-key-" * 4, algorithm="HS256")

    (outcome,) = authenticate_many([forged], middleware.authenticate_token, max_length=protocol.MAX_TOKEN_LENGTH)

    assert isinstance(outcome, middleware.SocketAuthFailed)
    assert outcome.code == "token_not_valid"


@pytest.mark.django_db(transaction=True)
async def test_concurrent_handshakes_keep_their_own_close_codes(general_room):
    alice = await database_sync_to_async(make_user)("alice")
    sleeper = await database_sync_to_async(make_user)("sleeper", is_active=False)
    sockets = [
        make_socket(user=alice),
        make_socket(user=sleeper),
        make_socket(token="garbage"),
        make_socket(user=alice),
    ]

    results = await asyncio.gather(*(socket.connect() for socket in sockets))

    assert all(connected for connected, _ in results)
    assert [await sockets[i].closed_with() for i in (1, 2)] == [4403, 4401]
    for socket in (sockets[0], sockets[3]):
        await socket.send(type="typing")
        assert (await socket.frame())["type"] == "typing"
        await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_per_user_cap_holds_for_a_burst(general_room, settings):
    settings.CHAT_MAX_SOCKETS_PER_USER = 2
    alice = await database_sync_to_async(make_user)("alice")
    sockets = [make_socket(user=alice) for _ in range(4)]

    await asyncio.gather(*(socket.connect() for socket in sockets))
    codes = await asyncio.gather(*(_close_code(socket) for socket in sockets))

    assert sorted(codes, key=str) == [4409, 4409, None, None]
    for socket, code in zip(sockets, codes, strict=True):
        if code is None:
            await socket.disconnect()
    again = await open_socket(user=alice)
    await again.disconnect()


async def _close_code(socket) -> int | None:
    try:
        return await asyncio.wait_for(socket.closed_with(), 0.5)
    except TimeoutError:
        return None


# --- presence admissions in one transaction ----------------------------------------------------------


@pytest.mark.django_db
def test_a_batch_of_admissions_counts_like_one_by_one(user, other_user):
    store = presence.DatabasePresence(process_id="storm")
    store.heartbeat_sync()
    elsewhere = presence.DatabasePresence(process_id="elsewhere")
    elsewhere.heartbeat_sync()
    elsewhere.add_sync(client=f"{other_user.pk}@b:1", user_id=other_user.pk)

    answers = store.admit_many_sync(
        [
            AdmitRequest(f"{user.pk}@a:1", user.pk, 2),
            AdmitRequest(f"{user.pk}@a:2", user.pk, 2),
            AdmitRequest(f"{user.pk}@a:3", user.pk, 2),
            AdmitRequest(f"{other_user.pk}@a:4", other_user.pk, 2),
        ]
    )

    assert answers == [Admission.FIRST, Admission.ANOTHER, Admission.REFUSED, Admission.ANOTHER]
    assert sorted(store.clients_sync()) == sorted(
        [f"{user.pk}@a:1", f"{user.pk}@a:2", f"{other_user.pk}@a:4", f"{other_user.pk}@b:1"]
    )


@pytest.mark.django_db
def test_an_unusual_batch_falls_back_to_one_by_one(user):
    """No process row yet, and one socket twice: the bulk insert fails, each admission is retried alone."""
    store = presence.DatabasePresence(process_id="fresh")

    answers = store.admit_many_sync(
        [AdmitRequest(f"{user.pk}@a:1", user.pk, 0), AdmitRequest(f"{user.pk}@a:1", user.pk, 0)]
    )

    assert answers == [Admission.FIRST, Admission.ANOTHER]
    assert store.clients_sync() == [f"{user.pk}@a:1"]


async def test_a_burst_of_redis_admissions_goes_in_one_pipeline(redis_service, settings):
    user_ids = (1, 1, 1, 2)
    settings.REDIS_URL = redis_service
    settings.CHAT_LAYER_PREFIX = f"test-storm-{secrets.token_hex(4)}"
    store = presence.RedisPresence(process_id="storm")
    try:
        answers = await asyncio.gather(
            *(store.admit(client=f"{uid}@a:{n}", user_id=uid, limit=2) for n, uid in enumerate(user_ids))
        )
        assert answers == [Admission.FIRST, Admission.ANOTHER, Admission.REFUSED, Admission.FIRST]
        assert sorted(await asyncio.to_thread(store.clients_sync)) == ["1@a:0", "1@a:1", "2@a:3"]
    finally:
        client = store._client
        if client is not None:
            keys = [key async for key in client.scan_iter(match=f"{settings.CHAT_LAYER_PREFIX}:*")]
            if keys:
                await client.delete(*keys)
        await store.close()
