"""The reconnect storm after a deploy: every socket comes back at once to a freshly started process.

``count`` authenticated sockets connect (100 handshakes in flight, as in the connect burst); then the
target's processes are stopped (SIGTERM) and started again on the same ports, as a rolling deploy does
to each replica. Every client reconnects once its socket closes, waiting between attempts as its retry
policy says (bench/retry.py: ``harsh``, every 50-100 ms; ``backoff``, the web page's exponential backoff
with jitter, honouring a refusal's ``Retry-After``).

A socket is *back* when its handshake completes, and *live* when a broadcast reaches it: from the moment
the new process answers, one message is sent every ``PULSE_S`` through any socket already back, and each
socket's first receipt of one is when it is live (authenticated, admitted, subscribed to its room: a
server that accepts first and checks later is not credited before it has finished).

- *restart s*: from SIGTERM until the new process answers ``/healthz`` (stop, then Django's start-up);
- *all back / all live s after ready*: from that answer until the last socket is back / live: the storm
  itself, what the server's connect path decides; *after SIGTERM*: the whole outage a client sees;
- *p50 / p99 s*: per socket, from the new process's answer (a socket back before it is counted 0);
- *CPU ms/conn*: the new process's CPU from its start until every socket was live (or the give-up time),
  per live socket (start-up included);
- *attempts*, and why attempts failed (``HTTP 503``, ``ConnectionRefusedError``...) before and after the
  new process answered; the server's own counters (``/metrics``: handshakes accepted, refused...) when it
  has them; *reached by a broadcast*: one message after the storm, counted on every socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import connect

from bench.loadgen import Client, Fleet, FleetError, socket_url
from bench.retry import Retry, failure_reason, retry_after
from bench.scenarios import _reach_all
from bench.stats import latency_summary, make_marker
from bench.targets import Live, server_log

GIVE_UP_S = 60.0
PULSE_S = 1.0  # a broadcast this often while sockets come back: a socket is live when one reaches it
COUNTERS = ("chat_socket_connects_total", "chat_socket_closes_total", "chat_handshake")


@dataclass
class Attempts:
    """Connection attempts of every client, and why the failed ones failed, before and after ready."""

    count: int = 0
    ready: bool = False
    failures: dict[str, dict[str, int]] = field(default_factory=lambda: {"before_ready": {}, "after_ready": {}})

    def failed(self, reason: str) -> None:
        phase = self.failures["after_ready" if self.ready else "before_ready"]
        phase[reason] = phase.get(reason, 0) + 1


async def reconnect_storm(
    live: Live, count: int, restart: Callable[[Live], tuple[float, float]], policy: str = "harsh"
) -> dict[str, object]:
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
        # A second try numbers its clients from the count connected so far, which the first try's
        # failures leave lower than its own numbers: number them again, one user each, so none is
        # counted twice (as many were, from a loaded machine's first try, before this).
        for index, client in enumerate(fleet.clients):
            client.index = index
        await _settle(fleet, live, "after the first connections")
        fleet.reset_records()
        back_at: dict[int, float] = {}
        attempts = Attempts()
        restarted = asyncio.Event()
        tasks = [
            asyncio.create_task(_come_back(fleet, client, back_at, attempts, restarted, Retry(policy)))
            for client in fleet.clients
        ]
        killed = time.monotonic()
        stop_s, ready_s = await asyncio.to_thread(restart, live)
        ready, ready_ns = killed + ready_s, time.time_ns()
        attempts.ready = True
        restarted.set()
        pulses = Pulses(fleet, back_at)
        pulser = asyncio.create_task(pulses.run(deadline=ready + GIVE_UP_S))
        _done, pending = await asyncio.wait(tasks, timeout=max(0.0, ready + GIVE_UP_S - time.monotonic()))
        for task in pending:
            task.cancel()
        all_back = max(back_at.values()) if len(back_at) == count else math.nan
        await pulser
        live_ns = pulses.live_ns
        cpu_ms = live.server_cpu() * 1000 / len(live_ns) if live_ns else math.nan  # the new processes' CPU
        counters = await asyncio.to_thread(server_counters, live)
        await asyncio.sleep(1.0)  # a server that accepts and then refuses closes now (no error: none may be back)
        still_open = len(fleet.open_clients())
        reached = await _reach_all(fleet)
    finally:
        await fleet.close()
    per_socket = latency_summary([max(0.0, at - ready) * 1000 for at in back_at.values()])
    live_after = [max(0, at - ready_ns) / 1e6 for at in live_ns.values()]
    per_live = latency_summary(live_after)
    all_live_s = max(live_after) / 1000 if len(live_ns) == count else math.nan
    return {
        "policy": policy,
        "sockets": count,
        "back": len(back_at),
        "live": len(live_ns),
        "open_after_1s": still_open,
        "stop_s": stop_s,
        "restart_s": ready_s,
        "back_after_ready_s": all_back - ready,
        "back_after_sigterm_s": all_back - killed,
        "back_p50_s": per_socket["p50_ms"] / 1000,
        "back_p99_s": per_socket["p99_ms"] / 1000,
        "live_after_ready_s": all_live_s,
        "live_after_sigterm_s": all_live_s + ready_s,
        "live_p50_s": per_live["p50_ms"] / 1000,
        "live_p99_s": per_live["p99_ms"] / 1000,
        "connect_attempts": attempts.count,
        "attempt_failures": attempts.failures,
        "refused_503": attempts.failures["after_ready"].get("HTTP 503", 0),
        "server_counters": counters,
        "server_cpu_ms_per_connection": cpu_ms,
        "reached_by_broadcast": reached,
    }


class Pulses:
    """A broadcast every PULSE_S through a socket already back; when each socket first received one."""

    def __init__(self, fleet: Fleet, back_at: dict[int, float]) -> None:
        self.fleet, self.back_at = fleet, back_at
        self.markers: set[str] = set()
        self.live_ns: dict[int, int] = {}

    async def run(self, deadline: float) -> None:
        n = 0
        while time.monotonic() < deadline:
            self._note_receipts()
            if len(self.live_ns) == len(self.fleet.clients):
                return
            sender = next((c for c in self.fleet.clients if c.index in self.back_at and not c.closed), None)
            if sender is not None:
                n += 1
                marker = make_marker(sender.index, n, time.time_ns())
                self.markers.add(marker)
                frame = {"type": "message", "content": self.fleet.content(marker), "client_id": f"pulse-{marker}"}
                with contextlib.suppress(websockets.ConnectionClosed):
                    await sender.ws.send(json.dumps(frame))
            await asyncio.sleep(PULSE_S)
        self._note_receipts()

    def _note_receipts(self) -> None:
        for client in self.fleet.clients:
            if client.index not in self.live_ns:
                first = next((at for marker, at in client.receipts if marker in self.markers), None)
                if first is not None:
                    self.live_ns[client.index] = first


def server_counters(live: Live) -> dict[str, float]:
    """The connect-path counters of the target's ``/metrics`` (empty for a server without them)."""
    totals: dict[str, float] = {}
    for port in live.ports:
        connection = http.client.HTTPConnection(live.host, port, timeout=10)
        try:
            connection.request("GET", "/metrics")
            response = connection.getresponse()
            text = response.read().decode() if response.status == 200 else ""
        except OSError:
            text = ""
        finally:
            connection.close()
        for line in text.splitlines():
            if line.startswith(COUNTERS):
                name, _, value = line.rpartition(" ")
                with contextlib.suppress(ValueError):
                    totals[name] = totals.get(name, 0.0) + float(value)
    return totals


async def _settle(fleet: Fleet, live: Live, when: str) -> None:
    try:
        await fleet.settle(1.0)
    except FleetError as exc:
        raise FleetError(f"{when}: {exc}; server log: {server_log(live, 400)}") from None


async def _come_back(
    fleet: Fleet, client: Client, back_at: dict[int, float], attempts: Attempts, restarted: asyncio.Event, retry: Retry
) -> None:
    """Wait for the socket to close, then reconnect until a handshake succeeds on the new process (a
    socket taken back by the old one while it stopped is closed again, and comes back again)."""
    url = socket_url(fleet.urls[client.index % len(fleet.urls)], fleet.tokens[client.index % len(fleet.tokens)])
    while True:
        if client.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await client.task
        back_at.pop(client.index, None)
        await asyncio.sleep(retry.after_close(client.close_code))
        await _reconnect(fleet, client, url, attempts, retry)
        back_at[client.index] = time.monotonic()
        if restarted.is_set():
            return
        waiter = asyncio.ensure_future(restarted.wait())
        watched: set[asyncio.Future[Any]] = {waiter, *([client.task] if client.task else [])}
        await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)  # never cancels the receive task
        waiter.cancel()
        if restarted.is_set() and not client.closed:
            return


async def _reconnect(fleet: Fleet, client: Client, url: str, attempts: Attempts, retry: Retry) -> None:
    while True:
        attempts.count += 1
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
        except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.ConnectionClosed) as exc:
            attempts.failed(failure_reason(exc))
            await asyncio.sleep(retry.after_failure(retry_after(exc)))
            continue
        retry.attempt = 0
        client.ws, client.closed, client.close_code = ws, False, None
        client.task = asyncio.create_task(fleet._receive(client))
        return
