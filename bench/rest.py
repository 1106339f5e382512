"""The REST scenario: POST a message and see it delivered on sockets, then GET history, closed-loop.

``concurrency`` HTTP workers each send a request, wait for the answer and send the next (like wrk), so
requests/s is what the server sustains and p99 is what a client waits. Posted messages carry the same
markers as socket messages, so the listening sockets measure post-to-delivery latency and loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from bench import procfs
from bench.httpclient import Connection, HttpError, request
from bench.loadgen import Fleet, FleetError
from bench.stats import account, latency_summary, make_marker
from bench.targets import REST_MESSAGES, ROOM, Live

POSTER_BASE = 1_000_000  # sender numbers of HTTP workers, apart from socket clients' indexes


@dataclass(frozen=True)
class RestLoad:
    listeners: int = 10
    concurrency: int = 8
    history_limit: int = 50


@dataclass
class _Worker:
    number: int
    token: str
    host: str
    port: int
    latencies: list[float]
    statuses: dict[int, int]


async def _closed_loop(worker: _Worker, method: str, stop: float, log: list[str], limit: int) -> None:
    """Send the next request as soon as the previous answer is in, until ``stop`` (monotonic time)."""
    host = f"{worker.host}:{worker.port}"
    history = request("GET", host, f"{REST_MESSAGES}?{urlencode({'room': ROOM, 'limit': limit})}", token=worker.token)
    connection: Connection | None = None
    n = 0
    try:
        while time.monotonic() < stop:
            now = time.time_ns()
            marker = make_marker(POSTER_BASE + worker.number, n, now)
            if method == "POST":
                body = {"content": f"{marker}| posted", "room": ROOM, "client_id": f"r{worker.number}.{n}.{now}"}
                raw = request("POST", host, REST_MESSAGES, token=worker.token, body=json.dumps(body).encode())
            else:
                raw = history
            began = time.perf_counter()
            try:
                connection = connection or await Connection.open(worker.host, worker.port)
                status = await connection.send(raw)
            except (HttpError, OSError):
                status, connection = 0, None
            worker.latencies.append((time.perf_counter() - began) * 1000)
            worker.statuses[status] = worker.statuses.get(status, 0) + 1
            if method == "POST" and 200 <= status < 300:
                log.append(marker)
            n += 1
    finally:
        if connection is not None:
            connection.close()


async def _phase(live: Live, load: RestLoad, method: str, seconds: float, log: list[str]) -> dict[str, object]:
    """Run ``load.concurrency`` workers for ``seconds``; requests/s, latency and server CPU per request."""
    workers = [
        _Worker(i, live.tokens[i % len(live.tokens)], live.host, live.ports[i % len(live.ports)], [], {})
        for i in range(load.concurrency)
    ]
    cpu0, own0 = live.server_cpu(), procfs.self_cpu_seconds()
    began = time.monotonic()
    stop = began + seconds
    await asyncio.gather(*(_closed_loop(w, method, stop, log, load.history_limit) for w in workers))
    elapsed = time.monotonic() - began
    cpu, own = live.server_cpu() - cpu0, procfs.self_cpu_seconds() - own0
    latencies = [ms for w in workers for ms in w.latencies]
    statuses: dict[int, int] = {}
    for worker in workers:
        for status, count in worker.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    ok = sum(c for s, c in statuses.items() if 200 <= s < 300)
    summary = latency_summary(latencies)
    key = method.lower()
    return {
        f"{key}_per_s": ok / elapsed,
        f"{key}_p50_ms": summary["p50_ms"],
        f"{key}_p99_ms": summary["p99_ms"],
        f"{key}_failed": sum(statuses.values()) - ok,
        f"{key}_statuses": {str(s): c for s, c in sorted(statuses.items())},
        f"{key}_server_cpu_ms_per_request": cpu * 1000 / ok if ok else math.nan,
        f"{key}_loadgen_cpu_pct": 100 * own / elapsed,
    }


async def rest(live: Live, load: RestLoad, *, duration_s: float, drain_s: float) -> dict[str, object]:
    """POST for ``duration_s`` with ``load.listeners`` sockets listening, then GET history for as long.

    When no socket can listen (the target has no WebSocket route yet), the requests are still measured
    and the delivery columns stay empty, with the reason in ``listen_failures``.
    """
    fleet = Fleet(live.ws_urls, live.tokens)
    try:
        connected = await fleet.connect(load.listeners)
        with contextlib.suppress(FleetError):
            await fleet.settle()
        fleet.reset_records()
        log: list[str] = []
        start_ns = time.time_ns()
        row = await _phase(live, load, "POST", duration_s, log)
        end_ns = time.time_ns()
        await asyncio.sleep(drain_s)
        row |= _deliveries(fleet, log, (start_ns, end_ns))
        row["listen_failures"] = connected.failures or fleet.close_codes()
        row |= await _phase(live, load, "GET", duration_s, [])
    finally:
        await fleet.close()
    return row


def _deliveries(fleet: Fleet, log: list[str], window: tuple[int, int]) -> dict[str, object]:
    listeners = fleet.open_clients()
    if not listeners:
        return {"listeners": 0, "posted": len(log)}
    delivered = account(log, (c.receipts for c in listeners), receivers=len(listeners), window=window)
    return {
        "listeners": len(listeners),
        "posted": delivered.sent,
        "delivered": delivered.delivered,
        "lost": delivered.lost,
        "duplicates": delivered.duplicates,
        "delivery_p50_ms": delivered.p50_ms,
        "delivery_p99_ms": delivered.p99_ms,
    }
