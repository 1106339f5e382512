"""Graceful shutdown of a real daphne process (``python -m chatsite.serve``, as ``make run`` and every
daphne replica of the scaled deployment): on SIGTERM it stops accepting, closes every open socket with
1012 (new paths and back_chat's), finishes the HTTP request in flight, and exits within
CHAT_SHUTDOWN_TIMEOUT, even when a request would outlast it."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass

import pytest
import websockets

from realtime.tests.e2e import BASE_DIR, Server, server_env, unique, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

TIMEOUT = 8  # CHAT_SHUTDOWN_TIMEOUT of these servers, seconds: far from every other duration here, so
# the order of events decides these tests, never the speed of a loaded machine


@dataclass
class SlowServer(Server):
    """A daphne process serving the project plus ``/slow`` (realtime/tests/slow_app.py)."""

    def start(self) -> None:
        log = self.log_path.open("ab")
        command = [sys.executable, "-m", "chatsite.serve", "-b", "127.0.0.1", "-p", str(self.port)]
        command.append("realtime.tests.slow_app:application")
        self.process = subprocess.Popen(command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._healthy, timeout=30, interval=0.1, what=f"{self.name} to serve /healthz")


@pytest.fixture
def server(request, database_url, tmp_path):
    redis_url = request.getfixturevalue("redis_server").url if database_url.startswith("postgres") else ""
    env = server_env(
        database_url=database_url, redis_url=redis_url, prefix=unique("shutdown"), CHAT_SHUTDOWN_TIMEOUT=str(TIMEOUT)
    )
    process = SlowServer(name="shutdown", env=env, log_dir=tmp_path)
    process.start()
    yield process
    process.stop()


def get(server: Server, path: str, results: list) -> None:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(server.http + path, timeout=30) as response:  # noqa: S310
            results.append((response.status, response.read().decode(), time.monotonic() - started))
    except Exception as exc:  # what the test asserts against
        results.append((None, repr(exc), time.monotonic() - started))


def in_flight(server: Server, path: str) -> tuple[threading.Thread, list]:
    results: list = []
    thread = threading.Thread(target=get, args=(server, path, results), daemon=True)
    thread.start()
    time.sleep(0.3)  # the request has reached the application
    return thread, results


async def close_code(ws, timeout: float = 5) -> int | None:
    """Read until the server closes the socket; its close code."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed:
        pass
    code: int | None = ws.close_code
    return code


async def test_sigterm_closes_sockets_with_1012_finishes_requests_and_exits(server):
    _, token = await asyncio.to_thread(server.sign_up, unique("leaving"))
    paths = ["/ws/messages/", "/ws/notifications/", "/ws/messages", "/ws/notifications"]
    sockets = [await websockets.connect(f"{server.ws}{path}?token={token}", open_timeout=10) for path in paths]
    thread, answer = await asyncio.to_thread(in_flight, server, "/slow?seconds=2.5")
    process = server.process
    assert process is not None

    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)

    codes = await asyncio.gather(*(close_code(ws) for ws in sockets))
    assert codes == [1012] * len(paths)
    assert not answer  # told at once: the request in flight is not answered yet, the process still runs
    with pytest.raises(ConnectionRefusedError):  # no longer accepting: the next replica gets the reconnect
        await websockets.connect(f"{server.ws}/ws/messages/?token={token}", open_timeout=2)
    returncode = await asyncio.to_thread(process.wait, TIMEOUT + 10)
    exited = time.monotonic() - signalled
    thread.join(5)
    server.process = None

    assert answer
    assert answer[0][0] == 200, answer  # the request in flight was answered
    assert answer[0][1] == "slept 2.5"
    assert returncode == 0
    assert 2.0 <= exited < TIMEOUT, exited  # once the request was answered, before the deadline
    log = server.log_path.read_text()
    assert "Drained in" in log
    assert "sockets closed with 1012" in log
    assert "Stopped" in log  # and exited at once, without the interpreter's final cleanup


async def test_a_request_that_outlasts_the_timeout_does_not_hold_the_exit(server):
    thread, answer = await asyncio.to_thread(in_flight, server, "/slow?seconds=60")
    process = server.process
    assert process is not None

    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    await asyncio.to_thread(process.wait, TIMEOUT + 10)
    exited = time.monotonic() - signalled
    thread.join(5)
    server.process = None

    assert exited < TIMEOUT + 5, exited  # not the minute the request wanted
    assert answer
    assert answer[0][0] is None  # cut off: it could not finish in time
    assert "still in flight" in server.log_path.read_text()


async def test_a_second_signal_stops_at_once(server):
    thread, _answer = await asyncio.to_thread(in_flight, server, "/slow?seconds=60")
    process = server.process
    assert process is not None

    process.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.3)
    signalled = time.monotonic()
    # SIGTERM again, not SIGINT: a shell starts background jobs (and so, at times, this suite) with SIGINT
    # ignored, and Python and Twisted leave an ignored SIGINT ignored in the server they start.
    process.send_signal(signal.SIGTERM)
    await asyncio.to_thread(process.wait, TIMEOUT + 10)
    thread.join(5)
    server.process = None

    assert time.monotonic() - signalled < TIMEOUT / 2  # not held until the deadline
