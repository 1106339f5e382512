"""The scaled topology without Docker: gunicorn's sync workers serve REST, two daphne processes serve the
sockets, on one database and one Redis, all writing metrics to one multiprocess directory.

What a worker commits has no hub to go through: ``realtime.kernel.relay`` hands it to the channel layer,
and every daphne process's hub delivers it. Skipped with a reason when redis-server is not installed
(failed instead under CHAT_REQUIRE_SERVICES).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from realtime.tests.e2e import BASE_DIR, Server, server_env, unique, wait_until
from realtime.tests.e2e_cluster import connect, follow, next_frame

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.timeout(300)]

MESSAGES = 12


@dataclass
class HttpPool(Server):
    """gunicorn with chatsite/gunicorn_conf.py, as docker-compose's http service runs it."""

    def start(self) -> None:
        log = self.log_path.open("ab")
        env = {**self.env, "CHAT_HTTP_BIND": f"127.0.0.1:{self.port}", "CHAT_HTTP_WORKERS": "2"}
        command = [sys.executable, "-m", "gunicorn", "-c", "python:chatsite.gunicorn_conf", "chatsite.wsgi:application"]
        self.process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._healthy, timeout=30, interval=0.1, what=f"{self.name} to serve /healthz")


@pytest.fixture(scope="module")
def topology(redis_server, database_url, tmp_path_factory):
    """Daphne processes A and B, and the HTTP pool, sharing a metrics directory."""
    logs = tmp_path_factory.mktemp("pool-logs")
    directory = tmp_path_factory.mktemp("pool-metrics")
    env = server_env(
        database_url=database_url,
        redis_url=redis_server.url,
        prefix=unique("pool"),
        PROMETHEUS_MULTIPROC_DIR=str(directory),
    )
    servers = {
        "a": Server(name="a", env=env, log_dir=logs),
        "b": Server(name="b", env=env, log_dir=logs),
        "http": HttpPool(name="http", env=env, log_dir=logs),
    }
    try:
        for server in servers.values():
            server.start()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="module")
def people(topology):
    return {name: topology["http"].sign_up(unique(name)) for name in ("ana", "ben")}


def scrape(server: Server) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(server.http + "/metrics", timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: dict, name: str, **labels: str) -> float:
    """The sum of ``name`` over every series that has ``labels``."""
    return float(
        sum(
            value
            for (sample, series), value in samples.items()
            if sample == name and set(labels.items()) <= set(series)
        )
    )


async def drain(ws, seconds: float) -> list[dict]:
    """Every frame that arrives within ``seconds`` (to see that nothing comes twice)."""
    frames = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), left)))
        except TimeoutError:
            break
    return frames


async def until_live(notifications) -> None:
    """Wait until a notification socket receives: frames are ignored until it is registered (its user's
    group joined), so ask until one is answered."""
    for _ in range(100):
        await notifications.send(json.dumps({"type": "read", "ids": [0]}))
        if any(frame["type"] in {"ack", "error"} for frame in await drain(notifications, 0.1)):
            return
    raise AssertionError("the notification socket never became live")


def messages_in(frames: list[dict]) -> list[dict]:
    found = []
    for frame in frames:
        if frame["type"] == "message":
            found.append(frame["message"])
        elif frame["type"] == "history":
            found.extend(frame["messages"])
    return found


async def test_messages_posted_to_the_http_pool_reach_sockets_on_every_daphne_in_order_once(topology, people):
    _, ana = people["ana"]
    _, ben = people["ben"]
    on_a, on_b = await follow(topology["a"], ben), await follow(topology["b"], ana)
    http = topology["http"]

    posted = []
    for n in range(MESSAGES):
        status, message = await asyncio.to_thread(
            http.request, "POST", "/api/v1/messages/", {"content": f"pooled {n}"}, ana
        )
        assert status == 201, message
        posted.append(message["id"])

    for ws in (on_a, on_b):
        received: list[dict] = []
        deadline = time.monotonic() + 15
        while len(received) < MESSAGES and time.monotonic() < deadline:
            received += messages_in(await drain(ws, 0.5))
        received += messages_in(await drain(ws, 1.0))  # anything sent twice would arrive by now
        assert [m["id"] for m in received] == posted
        assert [m["seq"] for m in received] == sorted(m["seq"] for m in received)
        await ws.close()


async def test_edits_deletions_and_notifications_from_the_pool_reach_both_processes(topology, people):
    _, ana = people["ana"]
    _, ben = people["ben"]
    http = topology["http"]
    on_a, on_b = await follow(topology["a"], ben), await follow(topology["b"], ana)
    ben_notes_on_b = await connect(topology["b"], ben, path="/ws/notifications/")
    await until_live(ben_notes_on_b)
    for ws in (on_a, on_b):  # following the room: the replay after last_seq comes once it does
        await next_frame(ws, "history", timeout=10)
    _, ben_name = await asyncio.to_thread(http.request, "GET", "/api/v1/users/me/", None, ben)

    _, message = await asyncio.to_thread(
        http.request, "POST", "/api/v1/messages/", {"content": f"hello @{ben_name['username']}"}, ana
    )
    notification = await next_frame(ben_notes_on_b, "notification", timeout=10)
    status, _ = await asyncio.to_thread(
        http.request, "PATCH", f"/api/v1/messages/{message['id']}/", {"content": "edited"}, ana
    )
    assert status == 200
    status, _ = await asyncio.to_thread(http.request, "DELETE", f"/api/v1/messages/{message['id']}/", None, ana)
    assert status == 204

    assert (notification["notification"]["kind"], notification["notification"]["data"]["message_id"]) == (
        "mention",
        message["id"],
    )
    for ws in (on_a, on_b):
        updated = await next_frame(ws, "message_updated", timeout=10)
        deleted = await next_frame(ws, "message_deleted", timeout=10)
        assert (updated["message"]["id"], updated["message"]["content"]) == (message["id"], "edited")
        assert deleted["id"] == message["id"]
        await ws.close()
    await ben_notes_on_b.close()


async def test_metrics_of_every_process_are_scraped_from_any_of_them(topology, people):
    _, ana = people["ana"]
    _, ben = people["ben"]
    a, b, http = topology["a"], topology["b"], topology["http"]
    before = await asyncio.to_thread(scrape, a)
    sockets = [await follow(a, ben), await follow(b, ana), await follow(b, ben)]

    for n in range(3):
        status, _ = await asyncio.to_thread(http.request, "POST", "/api/v1/messages/", {"content": f"m{n}"}, ana)
        assert status == 201
    for ws in sockets:
        seen: list[dict] = []
        while len(seen) < 3:
            seen += messages_in([json.loads(await asyncio.wait_for(ws.recv(), 10))])

    def grew(samples: dict, name: str, **labels: str) -> float:
        return total(samples, name, **labels) - total(before, name, **labels)

    for scraped in (a, http):  # a daphne process, or a gunicorn worker: the same sums
        after = await asyncio.to_thread(scrape, scraped)
        # Counted by the gunicorn workers, scraped from wherever.
        assert grew(after, "chat_http_requests_total", view="message-list", method="POST", status="201") >= 3
        assert grew(after, "chat_http_request_duration_seconds_count", view="message-list", method="POST") >= 3
        # Both daphne processes' sockets and deliveries (three sockets, three messages).
        assert total(after, "chat_sockets_open", kind="messages") >= 3
        assert grew(after, "chat_socket_connects_total", kind="messages") >= 3
        assert grew(after, "chat_deliveries_total") >= 9
        # The lag from the commit on a gunicorn worker to the write on each daphne: once per process and message.
        assert grew(after, "chat_delivery_lag_seconds_count") >= 6
        assert grew(after, "chat_hub_events_total", event="room", source="remote") >= 6
    for ws in sockets:
        await ws.close()
    await asyncio.to_thread(
        wait_until,
        lambda: total(scrape(b), "chat_sockets_open", kind="messages") == 0,
        timeout=10,
        what="the closed sockets to leave the gauge",
    )
