"""Rolling restart under traffic: two daphne replicas on one database and one Redis, restarted one after
the other with SIGTERM (as an orchestrator does), while clients chat over sockets and REST.

Not part of the test run. Clients follow two rooms, half of them on each replica. When a socket closes
(1012 from a replica that shuts down) the client reconnects with ``last_seq`` to whichever replica
accepts, the other one first, as a load balancer would send it. Socket senders resend an unacknowledged
message with the same ``client_id`` after a reconnect, as the web page does; REST senders retry a failed
``POST /api/v1/messages/`` with the same ``client_id`` on the other replica. Each round stops replica A
(SIGTERM, waiting for it to exit), starts it again, then does the same with B.

At the end every receiver catches up, and the run reports: messages sent, acknowledged, stored (each
``client_id`` stored once: nothing repeated), delivered to every receiver (nothing lost), duplicates seen
by clients, the close codes the clients saw, the time each replica took to exit after SIGTERM, and the
reconnect times.

    python -m bench.rolling_restart                      # make rolling-restart
    python -m bench.rolling_restart --rounds 1 --clients 20
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import signal
import statistics
import tempfile
import time
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench import room_clients
from bench.room_clients import (
    PROJECT_DIR,
    ROOMS,
    RoomClient,
    prepare,
    send_loop,
    server_env,
    stored_contents,
    write_result,
)
from realtime.tests.e2e import RedisServer, Server


@dataclass
class Stats(room_clients.Stats):
    rest_retries: int = 0


class Replicas:
    """The two replicas; ``order(preferred)``: where a client tries to connect, its preference first."""

    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers

    def order(self, avoid: Server | None) -> list[Server]:
        others = [s for s in self.servers if s is not avoid]
        return others + ([avoid] if avoid is not None else [])


class Client(RoomClient):
    """A room's follower, first on its home replica, then on the other replica first after each close."""

    retry_pause = (0.0, 0.2)

    def __init__(self, replicas: Replicas, home: Server, token: str, room: str, stats: Stats) -> None:
        super().__init__(token, room, stats)
        self.replicas, self.home = replicas, home

    def targets(self, last: Server | None, attempt: int) -> list[Server]:
        return [self.home] if attempt == 0 else self.replicas.order(avoid=last)


def _post(port: int, token: str, room: str, client_id: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"content": client_id, "room": room, "client_id": client_id})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        connection.request("POST", "/api/v1/messages/", body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


async def post_until_stored(replicas: Replicas, token: str, room: str, client_id: str, stats: Stats) -> bool:
    """POST over REST, retrying on the other replica with the same client_id (201, or 200 for a retry)."""
    deadline = time.monotonic() + 60
    avoid: Server | None = None
    while time.monotonic() < deadline:
        for server in replicas.order(avoid):
            try:
                status = await asyncio.to_thread(_post, server.port, token, room, client_id)
            except OSError:
                stats.rest_retries += 1
                avoid = server
                continue
            if status in (200, 201):
                return True
            stats.rest_retries += 1
        await asyncio.sleep(0.2)
    return False


async def rolling_restart(args: argparse.Namespace) -> dict[str, Any]:
    # Blocking calls (REST posts, process starts) each take a thread: never let them queue behind each other.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=64))
    work = Path(tempfile.mkdtemp(prefix="chat-rolling-"))
    redis = RedisServer()
    redis.start()
    env = server_env(
        database_url=args.database_url or f"sqlite:///{work / 'rolling.sqlite3'}",
        redis_url=redis.url,
        DJANGO_LOG_LEVEL="INFO",
        CHAT_SHUTDOWN_TIMEOUT=str(args.shutdown_timeout),
        CHAT_JOBS_WORKER="external",
    )
    tokens = await asyncio.to_thread(prepare, env, args.clients)
    servers = [Server("a", env, work), Server("b", env, work)]
    for server in servers:
        server.start()
    replicas = Replicas(servers)
    stats = Stats()
    clients = [Client(replicas, servers[i % 2], tokens[i], ROOMS[(i // 2) % 2], stats) for i in range(args.clients)]
    tasks = [asyncio.get_running_loop().create_task(client.run()) for client in clients]
    await asyncio.gather(*(asyncio.wait_for(c.connected.wait(), 30) for c in clients))
    sent: list[tuple[str, str]] = []
    acked: set[str] = set()
    began = time.monotonic()
    restarts: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def restart_loop() -> None:
        try:
            await restarts_in_turn()
        finally:
            done.set()  # the senders stop even when a restart failed (its error is raised below)

    async def restarts_in_turn() -> None:
        await asyncio.sleep(args.warmup)
        for round_number in range(args.rounds):
            for server in servers:
                process = server.process
                assert process is not None
                signalled = time.monotonic()
                process.send_signal(signal.SIGTERM)
                # A child process's exit is not awaitable here: poll it, to time the exit to 10 ms.
                while (code := process.poll()) is None and time.monotonic() - signalled < args.shutdown_timeout + 5:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                exited = time.monotonic() - signalled
                server.process = None
                await asyncio.to_thread(server.start)
                restarts.append({
                    "round": round_number + 1,
                    "replica": server.name,
                    "at_s": round(signalled - began, 1),
                    "exit_s": round(exited, 2),
                    "exit_code": code,
                    "back_in_s": round(time.monotonic() - signalled, 2),
                })  # fmt: skip
                await asyncio.sleep(args.pause)
        await asyncio.sleep(args.warmup)

    def rest_sender(index: int) -> Awaitable[None]:
        token, room = tokens[index], ROOMS[index % 2]

        async def post(client_id: str) -> bool:
            return await post_until_stored(replicas, token, room, client_id, stats)

        return sending(room=room, label="rest:", deliver=post)

    def running() -> bool:
        return not done.is_set()

    sending = partial(send_loop, rate=args.rate, running=running, sent=sent, acked=acked)

    lag = [0.0]

    async def watch_lag() -> None:
        """The load generator's own event-loop lag: a busy machine must not pass for a slow server."""
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.1)
            lag[0] = max(lag[0], time.monotonic() - before - 0.1)

    lag_task = asyncio.get_running_loop().create_task(watch_lag())
    restart_task = asyncio.get_running_loop().create_task(restart_loop())
    await asyncio.gather(
        *(sending(room=c.room, label="ws:", deliver=c.send_until_acked) for c in clients[: args.senders]),
        *(rest_sender(index) for index in range(args.rest_senders)),
    )
    await restart_task
    await asyncio.sleep(args.catch_up)
    stored = {room: await asyncio.to_thread(stored_contents, servers[0].port, tokens[0], room) for room in ROOMS}
    for task in [*tasks, lag_task]:
        task.cancel()
    for server in servers:
        server.stop()
    redis.kill()
    by_room = {room: {cid for r, cid in sent if r == room} for room in ROOMS}
    stored_ids = {room: set(contents) for room, contents in stored.items()}
    delivered = [len(set(c.seen) & by_room[c.room]) for c in clients]
    complete = sum(
        1 for c, count in zip(clients, delivered, strict=True) if count == len(stored_ids[c.room] & by_room[c.room])
    )
    return {
        "clients": args.clients,
        "socket_senders": args.senders,
        "rest_senders": args.rest_senders,
        "rounds": args.rounds,
        "duration_s": round(time.monotonic() - began, 1),
        "shutdown_timeout_s": args.shutdown_timeout,
        "restarts": restarts,
        "sent": len(sent),
        "acked": len(acked),
        "stored": sum(len(ids & by_room[room]) for room, ids in stored_ids.items()),
        "stored_twice": sum(len(contents) - len(set(contents)) for contents in stored.values()),
        "acked_not_stored": len(acked - set().union(*stored_ids.values())),
        "receivers_with_everything": f"{complete}/{len(clients)}",
        "duplicates_seen_by_clients": sum(c.duplicates for c in clients),
        "close_codes": dict(stats.close_codes),
        "reconnects": len(stats.reconnect_s),
        "reconnect_p50_s": round(statistics.median(stats.reconnect_s), 3) if stats.reconnect_s else 0.0,
        "reconnect_max_s": round(max(stats.reconnect_s), 3) if stats.reconnect_s else 0.0,
        "rest_retries": stats.rest_retries,
        "load_generator_max_lag_s": round(lag[0], 3),
        "workdir": str(work),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=60, help="sockets, split over 2 replicas and 2 rooms")
    parser.add_argument("--senders", type=int, default=10, help="clients that also send over their socket")
    parser.add_argument("--rest-senders", type=int, default=4)
    parser.add_argument("--rate", type=float, default=4.0, help="messages/s per sender (Poisson)")
    parser.add_argument("--rounds", type=int, default=2, help="each round restarts A, then B")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of traffic before and after")
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between two restarts")
    parser.add_argument("--shutdown-timeout", type=int, default=10)
    parser.add_argument("--catch-up", type=float, default=10.0)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--output", type=Path, default=PROJECT_DIR / "bench" / "results" / "rolling_restart.json")
    args = parser.parse_args(argv)
    result = asyncio.run(rolling_restart(args))
    write_result(args.output, result)


if __name__ == "__main__":
    main()
