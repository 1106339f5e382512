"""Outgoing webhooks end to end, with real processes (jobs/tests/topology.py): on PostgreSQL + Redis two
daphne processes and two jobs workers; on SQLite the embedded default (one server and its worker, as
``make run``). A bot's receiver (the README's reference code, in a thread of the test) gets a signed
delivery for a mention and its answer reaches open sockets on every process; a receiver that fails
three times gets the message once, after retries."""

from __future__ import annotations

import asyncio
import time

import pytest

from integrations import signing
from integrations.tests.receivers import Receiver
from integrations.tests.reference import reference_receiver
from jobs.tests.topology import topology
from realtime.tests.e2e import Server, unique, wait_until
from realtime.tests.e2e_cluster import follow, next_message

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SETTINGS = {
    "CHAT_WEBHOOK_ALLOW_PRIVATE": "true",
    "CHAT_WEBHOOK_ALLOW_HTTP": "true",
    "CHAT_WEBHOOK_RETRY_BASE": "0.5",  # retries after about 0.5, 1 and 2 s
    "CHAT_HUB_SYNC_INTERVAL": "1",  # the default without Redis: what a reply from the worker waits for then
}


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    directory = tmp_path_factory.mktemp("webhooks-e2e")
    with topology(directory, **SETTINGS) as running:
        servers = [running.server]
        if running.kind == "workers":
            second = Server(name="server-b", env=running.env, log_dir=directory)
            second.start()
            servers.append(second)
        try:
            yield running, servers
        finally:
            for server in servers[1:]:
                server.stop()


@pytest.fixture(scope="module")
def people(running):
    _, servers = running
    owner, talker = (servers[0].sign_up(unique(name)) for name in ("ana", "ben"))
    return owner, talker


def _bot(server: Server, owner_token: str) -> tuple[int, str]:
    username = unique("echo")
    status, bot = server.request("POST", "/api/v1/bots/", {"username": username, "display_name": "Echo"}, owner_token)
    assert status == 201, bot
    return bot["id"], username


def _subscribe(server: Server, owner_token: str, bot_id: int, url: str) -> dict:
    body = {"url": url, "events": ["mention"]}
    status, subscription = server.request("POST", f"/api/v1/bots/{bot_id}/subscriptions/", body, owner_token)
    assert status == 201, subscription
    return subscription


async def _reply_on(server: Server, token: str, sender: str, timeout: float) -> tuple[dict, float]:
    ws = await follow(server, token)
    try:
        while True:
            message = await next_message(ws, timeout=timeout)
            if message["sender"]["username"] == sender:
                return message, time.monotonic()
    finally:
        await ws.close()


def test_a_mention_reaches_the_bot_signed_and_its_reply_reaches_every_process(running, people):
    topology_, servers = running
    (_, owner), (_, talker) = people
    bot_id, username = _bot(servers[0], owner)
    with reference_receiver() as receiver:
        subscription = _subscribe(servers[0], owner, bot_id, receiver["url"])
        receiver["SECRET"] = subscription["secret"].encode()

        async def scenario():
            waits = [asyncio.create_task(_reply_on(s, talker, username, timeout=30)) for s in servers]
            await asyncio.sleep(1)  # the sockets follow the room
            status, _ = await asyncio.to_thread(
                servers[-1].request, "POST", "/api/v1/messages/", {"content": f"@{username} ping"}, talker
            )
            assert status == 201
            sent = time.monotonic()
            return [(message, arrived - sent) for message, arrived in await asyncio.gather(*waits)]

        replies = asyncio.run(scenario())

    assert [message["content"] for message, _ in replies] == [f"echo: @{username} ping"] * len(servers)
    assert len(receiver["seen"]) == 1  # one verified delivery
    # Through Redis at once; on the embedded default the server's catch-up (CHAT_HUB_SYNC_INTERVAL) finds it.
    limit = 3 if topology_.kind == "workers" else 1 + 3
    assert all(delay < limit for _, delay in replies), replies
    _, log = servers[0].request(
        "GET", f"/api/v1/bots/{bot_id}/subscriptions/{subscription['id']}/deliveries/", None, owner
    )
    [entry] = log["results"]
    assert (entry["status"], entry["attempts"], entry["response_code"]) == ("succeeded", 1, 200)


def test_a_receiver_that_fails_three_times_gets_the_message_once_after_retries(running, people):
    _, servers = running
    (_, owner), (_, talker) = people
    bot_id, username = _bot(servers[0], owner)
    with Receiver(script=[(500, {}), (503, {}), (500, {})], default=(200, {"text": "got it"})) as receiver:
        subscription = _subscribe(servers[0], owner, bot_id, receiver.url)
        status, _ = servers[0].request("POST", "/api/v1/messages/", {"content": f"@{username} deploy?"}, talker)
        assert status == 201
        path = f"/api/v1/bots/{bot_id}/subscriptions/{subscription['id']}/deliveries/"

        def finished() -> bool:
            _, log = servers[0].request("GET", path, None, owner)
            return bool(log["results"]) and log["results"][0]["status"] != "pending"

        wait_until(finished, timeout=60, interval=0.2, what="the delivery to succeed after its retries")
        time.sleep(1)  # a fifth request, if any, would be here by now

    assert len(receiver.received) == 4
    assert len({r.json()["delivery"] for r in receiver.received}) == 1
    for request in receiver.received:
        timestamp = request.headers["X-Chat-Timestamp"]
        assert signing.verify(
            subscription["secret"], timestamp, request.body, request.headers["X-Chat-Signature"], now=time.time()
        )
    _, log = servers[0].request("GET", path, None, owner)
    assert (log["results"][0]["status"], log["results"][0]["attempts"]) == ("succeeded", 4)
    _, page = servers[0].request("GET", "/api/v1/messages/?limit=20", None, talker)
    assert [m["content"] for m in page["results"] if m["sender"]["username"] == username] == ["got it"]
