"""WebSocket load generator: a fleet of chat clients in one room, some of them sending at a fixed rate.

Built to receive 20,000+ frames/s on one core: the receive loop stamps the time and slices the marker
out of the frame text with ``str.find`` (no JSON parsing of broadcast frames), and appends one tuple.
Acks, errors and anything else (a few per second at most) are parsed with json.loads. Loss, duplicates
and latency are computed after the drain period by ``bench.stats.account``.

Standalone use against a running server (tokens are taken on trust by the baseline):
``python -m bench.loadgen --url 'ws://127.0.0.1:8100/ws/messages/?room=general' --clients 100 --senders 5 --rate 20``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import websockets
from websockets.asyncio.client import ClientConnection, connect

from bench import procfs
from bench.stats import (
    MARKER_END,
    MARKER_PREFIX,
    Deliveries,
    Receipt,
    account,
    find_marker,
    latency_summary,
    make_marker,
    marker_sent_ns,
)

_OPEN_TIMEOUT = 30.0


class FleetError(RuntimeError):
    """The target refused or dropped the clients, so there is nothing to measure."""


@dataclass(eq=False)
class Client:
    """One socket and what it received; ``receipts`` is the only thing touched per broadcast frame."""

    index: int
    ws: ClientConnection
    receipts: list[Receipt] = field(default_factory=list)
    acks: list[tuple[str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    other_frames: int = 0
    close_code: int | None = None
    closed: bool = False
    task: asyncio.Task[None] | None = None


@dataclass
class ConnectResult:
    """How a burst of connection attempts went: handshake latencies and the reasons of failures."""

    attempted: int
    connected: int
    elapsed_s: float
    handshake_ms: list[float]
    failures: dict[str, int]

    @property
    def per_s(self) -> float:
        return self.connected / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass
class TrafficResult:
    """One measured window: deliveries plus what it cost the server, Redis and the load generator.

    ``received_in_window`` counts every frame that arrived during the window, whenever it was sent: the
    rate a saturated server really sustains (its backlog would otherwise drain into the drain period and
    look delivered). CPU per delivery divides the CPU from the window's start to the drain's end by the
    frames received over that same span, so neither backlog nor drain skews it.
    """

    deliveries: Deliveries
    received_in_window: int
    received_until_drained: int
    sent_per_s: float
    acks: int
    ack_p50_ms: float
    ack_p99_ms: float
    errors: dict[str, int]
    closed_sockets: int
    cpu_in_window: dict[str, float]
    cpu_until_drained: dict[str, float]
    loadgen_cpu_pct: float

    def as_dict(self) -> dict[str, object]:
        d = self.deliveries
        row: dict[str, object] = {
            **d.as_dict(),
            "received_per_s": self.received_in_window / d.window_s,
            "sent_per_s": self.sent_per_s,
            "acks": self.acks,
            "ack_p50_ms": self.ack_p50_ms,
            "ack_p99_ms": self.ack_p99_ms,
            "errors": dict(self.errors),
            "closed_sockets": self.closed_sockets,
            "loadgen_cpu_pct": self.loadgen_cpu_pct,
        }
        for name, seconds in self.cpu_in_window.items():
            row[f"{name}_cpu_pct"] = 100 * seconds / d.window_s
        for name, seconds in self.cpu_until_drained.items():
            frames = self.received_until_drained
            row[f"{name}_cpu_us_per_delivery"] = seconds * 1e6 / frames if frames else float("nan")
        return row


CpuProbes = Mapping[str, Callable[[], float | None]]


def _read(probes: CpuProbes) -> dict[str, float]:
    """CPU seconds of each probe that answers (a probe answering None, e.g. no Redis, is left out)."""
    readings = {name: probe() for name, probe in probes.items()}
    return {name: value for name, value in readings.items() if value is not None}


def _spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before.keys() & after.keys()}


def socket_url(base: str, token: str) -> str:
    """``base`` (which may carry ``room=``) with the access token in the query string, as DESIGN.md says."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}{urlencode({'token': token})}"


def _describe(exc: BaseException) -> str:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status is not None:
        return f"HTTP {status}"
    return type(exc).__name__


class Fleet:
    """Sockets spread round-robin over ``urls`` (one per server process), each with its own token."""

    def __init__(self, urls: Sequence[str], tokens: Sequence[str], *, message_bytes: int = 80) -> None:
        if not urls or not tokens:
            raise ValueError("a fleet needs at least one URL and one token")
        self.urls = list(urls)
        self.tokens = list(tokens)
        self.clients: list[Client] = []
        self.message_bytes = message_bytes

    # --- connections ------------------------------------------------------------------------------
    async def connect(self, count: int, *, concurrency: int = 64) -> ConnectResult:
        """Open ``count`` more sockets, at most ``concurrency`` handshakes in flight."""
        gate = asyncio.Semaphore(concurrency)
        first = len(self.clients)
        handshakes: list[float] = []
        failures: dict[str, int] = {}

        async def one(index: int) -> None:
            url = socket_url(self.urls[index % len(self.urls)], self.tokens[index % len(self.tokens)])
            async with gate:
                began = time.perf_counter()
                try:
                    ws = await connect(
                        url,
                        compression=None,  # neither target should spend CPU on permessage-deflate
                        ping_interval=None,
                        proxy=None,
                        open_timeout=_OPEN_TIMEOUT,
                        close_timeout=2,
                        user_agent_header=None,
                    )
                except Exception as exc:
                    failures[_describe(exc)] = failures.get(_describe(exc), 0) + 1
                    return
                handshakes.append((time.perf_counter() - began) * 1000)
            client = Client(index=index, ws=ws)
            client.task = asyncio.create_task(self._receive(client))
            self.clients.append(client)

        began = time.perf_counter()
        await asyncio.gather(*(one(first + i) for i in range(count)))
        elapsed = time.perf_counter() - began
        self.clients.sort(key=lambda c: c.index)
        return ConnectResult(count, len(handshakes), elapsed, handshakes, failures)

    def open_clients(self) -> list[Client]:
        return [c for c in self.clients if not c.closed]

    def close_codes(self) -> dict[str, int]:
        codes: dict[str, int] = {}
        for client in self.clients:
            if client.closed:
                codes[str(client.close_code)] = codes.get(str(client.close_code), 0) + 1
        return codes

    async def settle(self, seconds: float = 0.5) -> None:
        """Give the server time to close sockets it accepted but refuses (4401, 4404), then check."""
        await asyncio.sleep(seconds)
        if self.clients and not self.open_clients():
            raise FleetError(f"the server closed every socket (close codes {self.close_codes()})")

    async def close(self) -> None:
        clients, self.clients = self.clients, []
        await asyncio.gather(*(c.ws.close() for c in clients), return_exceptions=True)
        for client in clients:
            if client.task:
                client.task.cancel()
        await asyncio.gather(*(c.task for c in clients if c.task), return_exceptions=True)

    # --- receiving ----------------------------------------------------------------------------------
    async def _receive(self, client: Client) -> None:
        append = client.receipts.append
        clock = time.time_ns
        try:
            async for text in client.ws:
                now = clock()
                marker = find_marker(text) if isinstance(text, str) else None
                if marker is not None:
                    append((marker, now))
                else:
                    self._other_frame(client, text, now)
        except websockets.ConnectionClosed:
            pass
        finally:
            client.closed = True
            client.close_code = client.ws.close_code

    @staticmethod
    def _other_frame(client: Client, text: str | bytes, now: int) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            client.errors.append("non_json_frame")
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ack":
            client.acks.append((str(frame.get("client_id")), now))
        elif kind == "error":
            client.errors.append(str(frame.get("code")))
        else:
            client.other_frames += 1

    def reset_records(self) -> None:
        for client in self.clients:
            client.receipts.clear()
            client.acks.clear()
            client.errors.clear()

    # --- sending --------------------------------------------------------------------------------------
    def content(self, marker: str) -> str:
        body = f"{marker}{MARKER_END} "
        return body + "x" * max(0, self.message_bytes - len(body))

    async def _send_loop(self, client: Client, rate: float, stop_ns: int, log: list[str], phase: float) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / rate
        due = loop.time() + phase
        n = 0
        while True:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.time_ns()
            if now >= stop_ns or client.closed:
                return
            marker = make_marker(client.index, n, now)
            frame = {"type": "message", "content": self.content(marker), "client_id": f"c{client.index}.{n}.{now}"}
            try:
                await client.ws.send(json.dumps(frame))
            except websockets.ConnectionClosed:
                return
            log.append(marker)
            n += 1
            due += interval

    async def traffic(
        self,
        *,
        senders: Sequence[Client],
        rate: float,
        warmup_s: float,
        duration_s: float,
        drain_s: float,
        cpu: CpuProbes,
        seed: int = 1,
    ) -> TrafficResult:
        """Send from ``senders`` at ``rate``/s each; measure the window after ``warmup_s`` for ``duration_s``."""
        self.reset_records()
        receivers = self.open_clients()
        if not receivers:
            raise FleetError(f"no open sockets (close codes {self.close_codes()})")
        rng = random.Random(seed)
        log: list[str] = []
        start_ns = time.time_ns() + int(warmup_s * 1e9)
        end_ns = start_ns + int(duration_s * 1e9)
        tasks = [
            asyncio.create_task(self._send_loop(c, rate, end_ns, log, rng.uniform(0, 1.0 / rate))) for c in senders
        ]
        await asyncio.sleep(max(0.0, (start_ns - time.time_ns()) / 1e9))
        cpu0, own0 = _read(cpu), procfs.self_cpu_seconds()
        await asyncio.sleep(max(0.0, (end_ns - time.time_ns()) / 1e9))
        cpu1, own1 = _read(cpu), procfs.self_cpu_seconds()
        await asyncio.gather(*tasks)
        await asyncio.sleep(drain_s)
        cpu2 = _read(cpu)
        result = self._result(log, receivers, (start_ns, end_ns), own1 - own0)
        result.cpu_in_window, result.cpu_until_drained = _spent(cpu0, cpu1), _spent(cpu0, cpu2)
        return result

    def _result(
        self, log: list[str], receivers: list[Client], window: tuple[int, int], own_cpu_s: float
    ) -> TrafficResult:
        deliveries = account(log, (c.receipts for c in receivers), receivers=len(receivers), window=window)
        start, end = window
        arrivals = [t for c in receivers for _, t in c.receipts if t >= start]
        sent_at = {f"c{m[len(MARKER_PREFIX) :]}": ns for m in log if window[0] <= (ns := marker_sent_ns(m)) < window[1]}
        ack_ms = [(now - sent_at[cid]) / 1e6 for c in receivers for cid, now in c.acks if cid in sent_at]
        errors: dict[str, int] = {}
        for client in receivers:
            for code in client.errors:
                errors[code] = errors.get(code, 0) + 1
        acks = latency_summary(ack_ms)
        return TrafficResult(
            deliveries=deliveries,
            received_in_window=sum(1 for t in arrivals if t < end),
            received_until_drained=len(arrivals),
            sent_per_s=deliveries.sent / deliveries.window_s,
            acks=len(ack_ms),
            ack_p50_ms=acks["p50_ms"],
            ack_p99_ms=acks["p99_ms"],
            errors=errors,
            closed_sockets=sum(1 for c in receivers if c.closed),
            cpu_in_window={},
            cpu_until_drained={},
            loadgen_cpu_pct=100 * own_cpu_s / deliveries.window_s,
        )


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's loop when installed (cheaper per frame), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


async def _main(args: argparse.Namespace) -> None:
    tokens = [f"bench-{i:05d}" for i in range(args.clients)]
    fleet = Fleet([args.url], tokens, message_bytes=args.message_bytes)
    try:
        result = await fleet.connect(args.clients)
        print(f"connected {result.connected}/{result.attempted} in {result.elapsed_s:.2f}s {result.failures or ''}")
        await fleet.settle()
        traffic = await fleet.traffic(
            senders=fleet.open_clients()[: args.senders],
            rate=args.rate,
            warmup_s=args.warmup,
            duration_s=args.duration,
            drain_s=args.drain,
            cpu={},
        )
        print(json.dumps(traffic.as_dict(), indent=2))
    finally:
        await fleet.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="ws://HOST:PORT/ws/messages/?room=general")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--senders", type=int, default=5)
    parser.add_argument("--rate", type=float, default=20.0, help="messages/s per sender")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--drain", type=float, default=2.0)
    parser.add_argument("--message-bytes", type=int, default=80)
    args = parser.parse_args(argv)
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(_main(args))


if __name__ == "__main__":
    main()
