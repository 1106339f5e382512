"""The reconnect storm after a deploy: every socket comes back at once to a freshly started process.

``count`` authenticated sockets connect (100 handshakes in flight, as in the connect burst); then the
target's processes are stopped (SIGTERM) and started again on the same ports, as a rolling deploy does
to each replica. Every client reconnects as soon as its socket closes, and retries every 50-100 ms
(jittered) while nothing answers, the way a browser client with a short backoff would, all at once.

- *restart s*: from SIGTERM until the new process answers ``/healthz`` (stop, then Django's start-up);
- *all back s after ready*: from that answer until the last socket is open again: the storm itself,
  what the server's connect path decides; *all back s after SIGTERM*: the whole outage a client sees;
- *back p50 / p99 s*: per socket, from the new process's answer (a socket back before it is counted 0);
- *CPU ms/conn*: the new process's CPU from its start until every socket was back, per socket (start-up
  included); *reached by a broadcast*: one message after the storm, counted on every socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import connect

from bench.loadgen import Client, Fleet, FleetError, socket_url
from bench.scenarios import _reach_all
from bench.stats import latency_summary
from bench.targets import Live, server_log

RETRY_S = (0.05, 0.1)  # a client's wait between attempts while the server is away
GIVE_UP_S = 60.0


async def reconnect_storm(live: Live, count: int, restart: Callable[[Live], tuple[float, float]]) -> dict[str, object]:
    fleet = Fleet(live.ws_urls, live.tokens)
    try:
        failures: dict[str, int] = {}
        for _attempt in range(3):  # a loaded machine drops a few first handshakes: try those again
            missing = count - len(fleet.clients)
            if missing:
                for reason, n in (await fleet.connect(missing, concurrency=100)).failures.items():
                    failures[reason] = failures.get(reason, 0) + n
        if len(fleet.clients) < count:
            raise FleetError(f"only {len(fleet.clients)} of {count} sockets connected: {failures}")
        await _settle(fleet, live, "after the first connections")
        back_at: dict[int, float] = {}
        attempts = [0]
        restarted = asyncio.Event()
        tasks = [
            asyncio.create_task(_come_back(fleet, client, back_at, attempts, restarted)) for client in fleet.clients
        ]
        killed = time.monotonic()
        stop_s, ready_s = await asyncio.to_thread(restart, live)
        ready = killed + ready_s
        restarted.set()
        _done, pending = await asyncio.wait(tasks, timeout=GIVE_UP_S)
        for task in pending:
            task.cancel()
        all_back = max(back_at.values()) if len(back_at) == count else math.nan
        cpu_ms = live.server_cpu() * 1000 / len(back_at) if back_at else math.nan  # the new processes' CPU
        await _settle(fleet, live, "after the restart")
        still_open = len(fleet.open_clients())
        reached = await _reach_all(fleet)
    finally:
        await fleet.close()
    per_socket = latency_summary([max(0.0, at - ready) * 1000 for at in back_at.values()])
    return {
        "sockets": count,
        "back": len(back_at),
        "open_after_1s": still_open,
        "stop_s": stop_s,
        "restart_s": ready_s,
        "back_after_ready_s": all_back - ready,
        "back_after_sigterm_s": all_back - killed,
        "back_p50_s": per_socket["p50_ms"] / 1000,
        "back_p99_s": per_socket["p99_ms"] / 1000,
        "connect_attempts": attempts[0],
        "server_cpu_ms_per_connection": cpu_ms,
        "reached_by_broadcast": reached,
    }


async def _settle(fleet: Fleet, live: Live, when: str) -> None:
    try:
        await fleet.settle(1.0)
    except FleetError as exc:
        raise FleetError(f"{when}: {exc}; server log: {server_log(live, 400)}") from None


async def _come_back(
    fleet: Fleet, client: Client, back_at: dict[int, float], attempts: list[int], restarted: asyncio.Event
) -> None:
    """Wait for the socket to close, then reconnect until a handshake succeeds on the new process (a
    socket taken back by the old one while it stopped is closed again, and comes back again)."""
    url = socket_url(fleet.urls[client.index % len(fleet.urls)], fleet.tokens[client.index % len(fleet.tokens)])
    while True:
        if client.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await client.task
        back_at.pop(client.index, None)
        await _reconnect(fleet, client, url, attempts)
        back_at[client.index] = time.monotonic()
        if restarted.is_set():
            return
        waiter = asyncio.ensure_future(restarted.wait())
        watched: set[asyncio.Future[Any]] = {waiter, *([client.task] if client.task else [])}
        await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)  # never cancels the receive task
        waiter.cancel()
        if restarted.is_set() and not client.closed:
            return


async def _reconnect(fleet: Fleet, client: Client, url: str, attempts: list[int]) -> None:
    while True:
        attempts[0] += 1
        try:
            ws = await connect(
                url,
                compression=None,
                ping_interval=None,
                proxy=None,
                open_timeout=30,
                close_timeout=2,
                user_agent_header=None,
            )
        except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.ConnectionClosed):
            await asyncio.sleep(random.uniform(*RETRY_S))
            continue
        client.ws, client.closed, client.close_code = ws, False, None
        client.task = asyncio.create_task(fleet._receive(client))
        return
