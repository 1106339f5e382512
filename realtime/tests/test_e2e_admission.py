"""The cap on handshakes in progress in a real daphne process (realtime/admission.py,
chatsite/handshake_gate.py): over it an upgrade waits for a slot and is admitted when one comes back, or
is refused with 503 and Retry-After once its wait is over, before the application; a slot comes back
when the consumer has connected, when the client gives up, and when daphne's connect timeout ends a
handshake the application never answered."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass

import pytest
import websockets

from realtime.tests.e2e import BASE_DIR, Server, migrated_database, server_env, unique, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

CONNECT_TIMEOUT = 5  # daphne's --websocket_connect_timeout for this server, seconds
QUEUE_SECONDS = 2  # CHAT_HANDSHAKE_QUEUE_SECONDS: how long an upgrade over the cap waits for a slot


@dataclass
class CappedServer(Server):
    """The project plus ``/ws/stall/`` (realtime/tests/slow_app.py), one handshake in progress at most."""

    def start(self) -> None:
        log = self.log_path.open("ab")
        command = [sys.executable, "-m", "chatsite.serve", "-b", "127.0.0.1", "-p", str(self.port)]
        command += ["--websocket_connect_timeout", str(CONNECT_TIMEOUT), "realtime.tests.slow_app:application"]
        self.process = subprocess.Popen(command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._healthy, timeout=30, interval=0.1, what=f"{self.name} to serve /healthz")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("admission")
    with migrated_database(directory) as database_url:
        env = server_env(
            database_url=database_url,
            redis_url="",
            prefix=unique("admission"),
            CHAT_MAX_PENDING_HANDSHAKES="1",
            CHAT_HANDSHAKE_QUEUE_SECONDS=str(QUEUE_SECONDS),
        )
        process = CappedServer(name="admission", env=env, log_dir=directory)
        process.start()
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture(scope="module")
def token(server):
    return server.sign_up(unique("ada"))[1]


def stall(server: Server, seconds: float) -> socket.socket:
    """A handshake the application answers only after ``seconds``: it holds the one slot meanwhile."""
    idle = {"pending": 0.0, "waiting": 0.0}
    wait_until(lambda: counters(server).items() >= idle.items(), timeout=15, what="no handshake in progress")
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(
        f"GET /ws/stall/?seconds={seconds} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    wait_until(lambda: holding(counters(server)), timeout=10, what="the stalled handshake to hold the slot")
    return sock


def holding(found: dict[str, float]) -> bool:
    """One handshake holds the slot and none waits (a previous test's socket is done)."""
    return found["pending"] == 1 and found["waiting"] == 0


def ended_by_server(sock: socket.socket) -> bool:
    """Wait for the server to end the connection: with a 403 answer, a close or a reset (autobahn drops it)."""
    sock.settimeout(30)
    try:
        answer = sock.recv(200)
    except ConnectionResetError:
        return True
    return answer == b"" or answer.startswith(b"HTTP/1.1 403")


def counters(server: Server) -> dict[str, float]:
    """``chat_handshakes_total`` by outcome, ``pending`` and ``waiting`` (the two gauges)."""
    with urllib.request.urlopen(server.http + "/metrics", timeout=10) as response:  # noqa: S310
        lines = response.read().decode().splitlines()
    found = {"pending": 0.0, "waiting": 0.0}
    for name, _, value in (line.rpartition(" ") for line in lines):
        if name.startswith("chat_handshakes_total{"):
            found[name.split('outcome="')[1].split('"')[0]] = float(value)
        elif name in ("chat_handshakes_pending", "chat_handshakes_waiting"):
            found[name.rpartition("_")[2]] = float(value)
    return found


async def refusal(server: Server, token: str) -> websockets.InvalidStatus | None:
    """Try to connect; the refusal, or None once connected (the socket is closed again)."""
    try:
        async with websockets.connect(f"{server.ws}/ws/messages/?token={token}", open_timeout=10):
            return None
    except websockets.InvalidStatus as exc:
        return exc


def admitted(server: Server, token: str) -> bool:
    return asyncio.run(refusal(server, token)) is None


async def test_over_the_cap_a_handshake_waits_and_is_admitted_when_the_slot_comes_back(server, token):
    held = await asyncio.to_thread(stall, server, 60)
    waiting = asyncio.create_task(refusal(server, token))
    await asyncio.to_thread(wait_until, lambda: counters(server)["waiting"] == 1, timeout=10, what="a parked upgrade")
    held.close()  # the stalled client gives up: its slot goes to the one waiting
    assert await waiting is None


async def test_over_the_cap_a_handshake_that_waited_its_time_is_refused_with_503_and_retry_after(server, token):
    held = await asyncio.to_thread(stall, server, 60)
    try:
        refused = await refusal(server, token)
        assert refused is not None, "a second handshake was admitted while the first held the only slot"
        assert refused.response.status_code == 503
        assert refused.response.headers["Retry-After"] == "1"
        assert json.loads(refused.response.body)["code"] == "busy"
        assert counters(server)["refused"] >= 1
    finally:
        held.close()  # the client gives up: its slot comes back
    await asyncio.to_thread(wait_until, lambda: admitted(server, token), timeout=15, what="a handshake admitted")
    assert counters(server)["dropped"] >= 1


async def connect_when_admitted(server: Server, token: str) -> websockets.ClientConnection:
    """Connect, trying again while the slot is taken (by the previous test's sockets, still connecting)."""
    for _ in range(100):
        try:
            return await websockets.connect(f"{server.ws}/ws/messages/?token={token}", open_timeout=10)
        except websockets.InvalidStatus as exc:
            if exc.response.status_code != 503:
                raise
            await asyncio.sleep(0.1)
    raise AssertionError("never admitted")


async def test_a_connected_socket_and_a_refused_token_give_their_slot_back(server, token):
    completed = counters(server).get("completed", 0)
    first = await connect_when_admitted(server, token)
    bad = await connect_when_admitted(server, "not-a-token")
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(bad.recv(), 10)
    assert bad.close_code == 4401
    # The first socket stays open, yet its slot came back: another one is admitted.
    third = await connect_when_admitted(server, token)
    assert first.state is websockets.protocol.State.OPEN
    await asyncio.gather(first.close(), third.close())
    # At least the first socket's slot came back as "completed" (the others may end first, as "dropped").
    await asyncio.to_thread(wait_until, lambda: counters(server).get("completed", 0) > completed, timeout=10)


async def test_a_handshake_the_application_never_answers_gives_its_slot_back_at_the_connect_timeout(server, token):
    await asyncio.to_thread(wait_until, lambda: admitted(server, token), timeout=15, what="a handshake admitted")
    held = await asyncio.to_thread(stall, server, 60)  # far beyond daphne's connect timeout; never closed by us
    try:
        assert await refusal(server, token) is not None  # the stalled handshake holds the slot
        assert await asyncio.to_thread(ended_by_server, held)  # daphne refuses it once the timeout passes
        await asyncio.to_thread(wait_until, lambda: admitted(server, token), timeout=15, what="a handshake admitted")
    finally:
        held.close()
