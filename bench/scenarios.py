"""The WebSocket scenarios: fan-out at a fixed offered load, capacity by growth, and a connect burst.

Each takes a running target and returns one flat dict of numbers per run (``run.py`` takes medians and
ratios). The REST scenario lives in ``bench.rest``.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench import procfs
from bench.loadgen import Fleet, FleetError
from bench.stats import latency_summary, make_marker
from bench.targets import Live

LOADGEN_BOUND_PCT = 85.0  # above this the load generator, not the server, may be what limits a step


@dataclass(frozen=True)
class Load:
    """An offered load: ``clients`` in the room, ``senders`` of them each sending ``rate`` messages/s."""

    clients: int
    senders: int
    rate: float

    @property
    def label(self) -> str:
        return f"{self.clients} clients x {self.senders} senders x {self.rate:g}/s"

    @property
    def deliveries_per_s(self) -> float:
        return self.clients * self.senders * self.rate

    @classmethod
    def parse(cls, text: str) -> Load:
        """``100x5x20`` -> 100 clients, 5 senders, 20 messages/s each."""
        clients, senders, rate = text.lower().split("x")
        return cls(int(clients), int(senders), float(rate))


@dataclass(frozen=True)
class Timing:
    warmup_s: float
    duration_s: float
    drain_s: float


def cpu_probes(live: Live) -> dict[str, Callable[[], float | None]]:
    """The server's process tree, and Redis's own CPU for the Redis targets."""

    def redis() -> float | None:
        try:
            return live.redis_cpu()
        except Exception:  # Redis's CPU is a bonus column; never fail a run over it
            return None

    return {"server": live.server_cpu, "redis": redis}


async def fanout(live: Live, load: Load, timing: Timing) -> dict[str, object]:
    """N clients in one room, K senders at R/s: throughput, loss, duplicates, latency, CPU per delivery."""
    fleet = Fleet(live.ws_urls, live.tokens)
    try:
        connected = await fleet.connect(load.clients)
        if connected.connected == 0:
            raise FleetError(f"no socket connected: {connected.failures}")
        await fleet.settle()
        result = await fleet.traffic(
            senders=fleet.open_clients()[: load.senders],
            rate=load.rate,
            warmup_s=timing.warmup_s,
            duration_s=timing.duration_s,
            drain_s=timing.drain_s,
            cpu=cpu_probes(live),
        )
    finally:
        await fleet.close()
    row = result.as_dict() | {"clients": connected.connected, "connect_failures": connected.failures}
    row["offered_per_s"] = load.deliveries_per_s
    return row


def _step_passes(row: dict[str, Any], limit_ms: float, max_loss: float) -> bool:
    p95, lost, expected = float(row["p95_ms"]), int(row["lost"]), int(row["expected"])
    return expected > 0 and not math.isnan(p95) and p95 <= limit_ms and lost <= max_loss * expected


async def capacity(
    live: Live, steps: Sequence[int], timing: Timing, *, limit_ms: float = 500.0, max_loss: float = 0.01
) -> dict[str, object]:
    """Grow the room through ``steps`` clients, every client sending 1 message/s, until p95 > ``limit_ms``.

    The websocket-shootout method: the capacity is the last step whose p95 delivery latency stayed
    within the limit (and lost at most ``max_loss`` of the expected deliveries).
    """
    fleet = Fleet(live.ws_urls, live.tokens)
    history: list[dict[str, object]] = []
    best: dict[str, object] | None = None
    try:
        for clients in steps:
            connected = await fleet.connect(clients - len(fleet.clients))
            if not fleet.clients:
                raise FleetError(f"no socket connected: {connected.failures}")
            if connected.failures:
                history.append({"clients": clients, "connect_failures": connected.failures})
                break
            await fleet.settle(0.2)
            result = await fleet.traffic(
                senders=fleet.open_clients(),
                rate=1.0,
                warmup_s=timing.warmup_s,
                duration_s=timing.duration_s,
                drain_s=timing.drain_s,
                cpu=cpu_probes(live),
                seed=clients,
            )
            row = result.as_dict() | {"clients": len(fleet.open_clients())}
            history.append(row)
            if not _step_passes(row, limit_ms, max_loss):
                break
            best = row
    finally:
        await fleet.close()
    return _capacity_row(best, history, limit_ms)


def _capacity_row(
    best: dict[str, object] | None, history: list[dict[str, object]], limit_ms: float
) -> dict[str, object]:
    last = history[-1] if history else {}
    failed = last is not best
    loadgen = last.get("loadgen_cpu_pct", 0.0)
    return {
        "capacity_clients": best["clients"] if best else 0,
        "received_per_s": best["received_per_s"] if best else math.nan,
        "p95_ms": best["p95_ms"] if best else math.nan,
        "server_cpu_us_per_delivery": best["server_cpu_us_per_delivery"] if best else math.nan,
        "stopped_at_clients": last.get("clients") if failed else None,
        "stopped_p95_ms": last.get("p95_ms", math.nan) if failed else math.nan,
        "stopped_lost": last.get("lost", 0) if failed else 0,
        "limit_ms": limit_ms,
        "loadgen_bound": bool(failed and isinstance(loadgen, float) and loadgen > LOADGEN_BOUND_PCT),
        "reached_max_step": not failed,
        "steps": [
            {
                k: step.get(k)
                for k in ("clients", "received_per_s", "p95_ms", "lost", "loadgen_cpu_pct", "server_cpu_pct")
            }
            for step in history
        ],
    }


async def connect_burst(live: Live, count: int, *, concurrency: int = 100) -> dict[str, object]:
    """Open ``count`` authenticated sockets as fast as the server accepts them; memory per idle socket."""
    warm = Fleet(live.ws_urls, live.tokens[-20:])
    await warm.connect(20)  # first handshakes pay one-time costs (imports, DB connections); keep them out
    await warm.close()
    await asyncio.sleep(0.5)
    fleet = Fleet(live.ws_urls, live.tokens)
    rss0, cpu0, own0 = live.server_rss(), live.server_cpu(), procfs.self_cpu_seconds()
    try:
        result = await fleet.connect(count, concurrency=concurrency)
        own1 = procfs.self_cpu_seconds()
        if result.connected == 0:
            raise FleetError(f"no socket connected: {result.failures}")
        await fleet.settle(1.0)  # work a server defers past the handshake (presence) counts too
        cpu1 = live.server_cpu()
        open_clients = fleet.open_clients()
        rss1 = live.server_rss()
        reached = await _reach_all(fleet)
    finally:
        await fleet.close()
    handshakes = latency_summary(result.handshake_ms)
    return {
        "attempted": count,
        "connected": result.connected,
        "open_after_1s": len(open_clients),
        "connect_failures": result.failures,
        "close_codes": fleet.close_codes(),
        "connections_per_s": result.per_s,
        "handshake_p50_ms": handshakes["p50_ms"],
        "handshake_p99_ms": handshakes["p99_ms"],
        "server_cpu_ms_per_connection": (cpu1 - cpu0) * 1000 / result.connected if result.connected else math.nan,
        "rss_kib_per_connection": (rss1 - rss0) / 1024 / len(open_clients) if open_clients else math.nan,
        "rss_mib_idle": rss1 / 2**20,
        "reached_by_broadcast": reached,
        "loadgen_cpu_pct": 100 * (own1 - own0) / result.elapsed_s if result.elapsed_s else math.nan,
    }


async def _reach_all(fleet: Fleet, wait_s: float = 10.0) -> int:
    """Send one message and count the open sockets it reaches: proof they are authenticated and subscribed."""
    clients = fleet.open_clients()
    if not clients:
        return 0
    fleet.reset_records()
    marker = make_marker(clients[0].index, 0, time.time_ns())
    frame = {"type": "message", "content": fleet.content(marker), "client_id": f"reach-{time.time_ns()}"}
    await clients[0].ws.send(json.dumps(frame))
    deadline = time.monotonic() + wait_s
    reached = 0
    while time.monotonic() < deadline:
        reached = sum(1 for c in clients if any(m == marker for m, _ in c.receipts))
        if reached == len(clients):
            break
        await asyncio.sleep(0.1)
    return reached
