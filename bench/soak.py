"""Soak and fault run: mixed traffic on two daphne processes, a Redis restart and a kill -9 in the middle.

Not part of the test run (it takes minutes). Two daphne processes share a database and a private
redis-server (so that it can be killed). Clients follow two rooms on both processes, reconnect with
``last_seq`` whenever their socket closes, and senders resend unacknowledged messages with the same
``client_id`` after a reconnect, as the web page does. A third of the way in, Redis is killed and
restarted; two thirds in, process B is killed with SIGKILL and started again. At the end every
receiver catches up, and the run reports: sent, acknowledged, stored, delivered after catch-up (per
receiver, they must all match), duplicates, reconnect time p95, and each process's memory at the start
and the end of the run.

    python -m bench.soak --minutes 10          # make soak
    python -m bench.soak --minutes 1 --quick    # a short smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from bench import procfs
from bench.room_clients import (
    PROJECT_DIR,
    ROOMS,
    RoomClient,
    Stats,
    prepare,
    send_loop,
    server_env,
    stored_contents,
    write_result,
)
from realtime.tests.e2e import RedisServer, Server


def _rss_mib(server: Server) -> float:
    return procfs.rss_bytes([server.process.pid]) / 2**20 if server.process else 0.0


class Client(RoomClient):
    """A room's follower on one process, back on the same process after each close."""

    def __init__(self, process: Server, token: str, room: str, stats: Stats) -> None:
        super().__init__(token, room, stats)
        self.process = process

    def targets(self, last: Server | None, attempt: int) -> list[Server]:
        return [self.process]


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="chat-soak-"))
    redis = RedisServer()
    redis.start()
    env = server_env(database_url=f"sqlite:///{work / 'soak.sqlite3'}", redis_url=redis.url)
    tokens = await asyncio.to_thread(prepare, env, args.clients)
    processes = [Server("a", env, work), Server("b", env, work)]
    for process in processes:
        process.start()
    memory: dict[str, dict[str, float]] = {p.name: {"idle_mib": round(_rss_mib(p), 1)} for p in processes}
    stats = Stats()
    clients = [Client(processes[i % 2], tokens[i], ROOMS[(i // 2) % 2], stats) for i in range(args.clients)]
    tasks = [asyncio.get_running_loop().create_task(client.run()) for client in clients]
    await asyncio.gather(*(asyncio.wait_for(c.connected.wait(), 30) for c in clients))
    senders = clients[: args.senders]
    sent: list[tuple[str, str]] = []
    acked: set[str] = set()
    duration = args.minutes * 60
    began = time.monotonic()
    events: list[str] = []

    async def faults() -> None:
        # "start": once every socket is open and traffic has run a while (warm caches), before faults.
        await asyncio.sleep(duration / 10)
        for process in processes:
            memory[process.name]["start_mib"] = round(_rss_mib(process), 1)
        await asyncio.sleep(duration / 3 - duration / 10)
        events.append(f"{time.monotonic() - began:.0f}s: redis-server killed")
        redis.kill()
        await asyncio.sleep(5)
        redis.start()
        events.append(f"{time.monotonic() - began:.0f}s: redis-server started again (empty)")
        await asyncio.sleep(duration / 3 - 5)
        events.append(f"{time.monotonic() - began:.0f}s: process b killed with SIGKILL")
        processes[1].kill()
        await asyncio.sleep(2)
        await asyncio.to_thread(processes[1].start)
        memory["b"]["restarted_mib"] = round(_rss_mib(processes[1]), 1)
        events.append(f"{time.monotonic() - began:.0f}s: process b started again")

    def running() -> bool:
        return time.monotonic() - began < duration

    fault_task = asyncio.get_running_loop().create_task(faults())
    sending = partial(send_loop, label="", rate=args.rate, running=running, sent=sent, acked=acked)
    await asyncio.gather(*(sending(room=c.room, deliver=c.send_until_acked) for c in senders))
    await fault_task
    memory_end = {p.name: round(_rss_mib(p), 1) for p in processes}
    await asyncio.sleep(args.catch_up)
    stored = {room: set(await asyncio.to_thread(stored_contents, processes[0].port, tokens[0], room)) for room in ROOMS}
    for task in tasks:
        task.cancel()
    for process in processes:
        process.stop()
    redis.kill()
    by_room = {room: {cid for r, cid in sent if r == room} for room in ROOMS}
    receivers: list[dict[str, Any]] = [
        {"room": c.room, "delivered": len(set(c.seen) & by_room[c.room]), "duplicates": c.duplicates} for c in clients
    ]
    complete = sum(1 for c, r in zip(clients, receivers, strict=True) if r["delivered"] == len(stored[c.room]))
    return {
        "minutes": args.minutes,
        "clients": args.clients,
        "senders": args.senders,
        "events": events,
        "sent": len(sent),
        "acked": len(acked),
        "stored": sum(len(ids & by_room[room]) for room, ids in stored.items()),
        "receivers_with_everything": f"{complete}/{len(clients)}",
        "min_delivered_share": min(r["delivered"] / max(1, len(stored[r["room"]])) for r in receivers),
        "duplicates": sum(r["duplicates"] for r in receivers),
        "reconnects": len(stats.reconnect_s),
        "reconnect_p95_s": round(_p95(stats.reconnect_s), 2),
        "memory_mib": {name: {**memory[name], "end_mib": memory_end[name]} for name in memory},
        "workdir": str(work),
    }


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=80, help="sockets, split over 2 processes and 2 rooms")
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--rate", type=float, default=2.0, help="messages/s per sender (Poisson)")
    parser.add_argument("--catch-up", type=float, default=15.0, help="seconds left for reconnects to catch up")
    parser.add_argument("--output", type=Path, default=PROJECT_DIR / "bench" / "results" / "soak.json")
    args = parser.parse_args(argv)
    result = asyncio.run(soak(args))
    write_result(args.output, result)


if __name__ == "__main__":
    main()
