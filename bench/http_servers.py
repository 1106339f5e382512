"""Which server should carry plain HTTP: daphne, gunicorn's sync workers, or gunicorn with uvicorn's worker.

Each server runs pinned to one core (``taskset -c 0``) on the same database and Redis; the load generator,
pinned to the other core, keeps ``--concurrency`` requests in flight (a closed loop, as wrk does) for
``--seconds`` on a 50-message history page, then on ``POST /api/v1/messages/``. Requests/s, latency and
the server's CPU time per request (its whole process tree, from /proc: the figure least disturbed by
whatever else the machine runs), per server and round; servers take turns in each of ``--rounds``, and
the table shows each one's median (README "Deployment" quotes it):

    python -m bench.http_servers --postgres postgres://postgres@127.0.0.1:5432 \
        --redis redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from bench import procfs
from bench.httpclient import Connection, HttpError, request
from bench.services import Redis, create_postgres_database, drop_postgres_database, free_port
from bench.stats import latency_summary

ROOT = Path(__file__).resolve().parents[1]
SERVERS = {
    "daphne": ["-m", "chatsite.serve", "-b", "127.0.0.1", "-p", "{port}"],
    "gunicorn-sync": ["-m", "gunicorn", "-c", "python:chatsite.gunicorn_conf", "chatsite.wsgi:application"],
    "gunicorn-uvicorn": [
        "-m", "gunicorn", "-c", "python:chatsite.gunicorn_conf", "-k", "uvicorn.workers.UvicornWorker",
        "chatsite.asgi:application",
    ],
    # The floor: a bare Django JSON view (bench/django_floor.py) on the same gunicorn as gunicorn-sync.
    "gunicorn-floor": ["-m", "gunicorn", "-c", "python:chatsite.gunicorn_conf", "bench.django_floor:application"],
}  # fmt: skip


class KeepAliveAware(Connection):
    """The bench client, told when the server will close after this answer (gunicorn's sync workers)."""

    closing = False

    def on_message_complete(self) -> None:
        self.closing = not self._parser.should_keep_alive()
        super().on_message_complete()


@dataclass
class Target:
    name: str
    port: int
    process: subprocess.Popen[bytes]


def environment(database_url: str, redis_url: str, port: int, workers: int) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SECRET_KEY": "bench-" + "k" * 60,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CHAT_JOBS_WORKER": "external",
        "CHAT_MESSAGE_RATE": "1000000/1s",
        "CHAT_SIGNUP_RATE": "1000/min",
        "CHAT_TOKEN_RATE": "1000/min",
        "CHAT_HTTP_BIND": f"127.0.0.1:{port}",
        "CHAT_HTTP_WORKERS": str(workers),
        "CHAT_LAYER_PREFIX": f"bench{os.getpid()}",
        "DJANGO_LOG_LEVEL": "WARNING",
        "CHAT_ACCESS_LOG_LEVEL": "WARNING",
    }


def start(name: str, env: dict[str, str], port: int, log: Path) -> Target:
    args = [arg.replace("{port}", str(port)) for arg in SERVERS[name]]
    if name == "daphne":
        args += ["--verbosity", "0"]
    command = ["taskset", "-c", "0", sys.executable, *args]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
            return Target(name, port, process)
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer /healthz")


def stop(target: Target) -> None:
    target.process.terminate()
    try:
        target.process.wait(20)
    except subprocess.TimeoutExpired:
        target.process.kill()
        target.process.wait(5)


def api(port: int, method: str, path: str, body: Any = None, token: str = "") -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as answer:  # noqa: S310
        return json.loads(answer.read() or b"null")


def seed(port: int) -> str:
    """A user, an access token and 50 messages in ``general``."""
    api(port, "POST", "/api/v1/users/", {"username": "bencher", "password": "bench-long-passphrase"})
    token = api(port, "POST", "/api/v1/auth/token/", {"username": "bencher", "password": "bench-long-passphrase"})
    for n in range(50):
        api(port, "POST", "/api/v1/messages/", {"content": f"seed {n} " + "x" * 80}, token["access"])
    return str(token["access"])


async def closed_loop(port: int, raw: bytes, stop_at: float, latencies: list[float], statuses: dict[int, int]) -> None:
    connection: KeepAliveAware | None = None
    while time.monotonic() < stop_at:
        began = time.perf_counter()
        try:
            connection = connection or cast(KeepAliveAware, await KeepAliveAware.open("127.0.0.1", port))
            status = await connection.send(raw)
            if connection.closing:
                connection.close()
                connection = None
        except (HttpError, OSError):
            status, connection = 0, None
        latencies.append((time.perf_counter() - began) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
    if connection is not None:
        connection.close()


async def phase(port: int, raw_of: Any, concurrency: int, seconds: float, pid: int = 0) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    cpu = procfs.cpu_seconds([pid]) if pid else 0.0
    began = time.monotonic()
    await asyncio.gather(
        *(closed_loop(port, raw_of(i), began + seconds, latencies, statuses) for i in range(concurrency))
    )
    elapsed = time.monotonic() - began
    cpu = (procfs.cpu_seconds([pid]) - cpu) if pid else 0.0
    ok = sum(count for status, count in statuses.items() if 200 <= status < 300)
    summary = latency_summary(latencies)
    return {"per_s": round(ok / elapsed, 1), "p50_ms": summary["p50_ms"], "p99_ms": summary["p99_ms"],
            "failed": sum(statuses.values()) - ok, "cpu_ms": round(cpu * 1000 / max(ok, 1), 2)}  # fmt: skip


def measure(port: int, token: str, concurrency: int, seconds: float, pid: int) -> dict[str, Any]:
    host = f"127.0.0.1:{port}"
    page = request("GET", host, "/api/v1/messages/?room=general&limit=50", token=token)

    def post(i: int) -> bytes:
        body = json.dumps({"content": f"bench from {i}", "room": "general"}).encode()
        return request("POST", host, "/api/v1/messages/", token=token, body=body)

    # Warm-up: every worker imports, connects and caches on its first requests.
    asyncio.run(phase(port, lambda i: page, concurrency, 3.0))
    asyncio.run(phase(port, post, concurrency, 1.0))
    return {
        "history": asyncio.run(phase(port, lambda i: page, concurrency, seconds, pid)),
        "post": asyncio.run(phase(port, post, concurrency, seconds, pid)),
    }


def print_table(results: dict[str, list[dict[str, Any]]]) -> None:
    floor = (
        {
            kind: statistics.median(r[kind]["per_s"] for r in results.get("gunicorn-floor", []))
            for kind in ("history", "post")
        }
        if results.get("gunicorn-floor")
        else {}
    )
    print(
        "\n| server (one core) | history req/s | x floor | p99 ms | CPU ms/req "
        "| POST req/s | x floor | p99 ms | CPU ms/req |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, rounds in results.items():
        cells = []
        for kind in ("history", "post"):
            per_s = statistics.median(r[kind]["per_s"] for r in rounds)
            cells.append(f"{per_s:.1f}")
            cells.append(f"{per_s / floor[kind]:.2f}x" if floor.get(kind) else "")
            for key in ("p99_ms", "cpu_ms"):
                cells.append(f"{statistics.median(r[kind][key] for r in rounds):.1f}")
        print(f"| {name} | {' | '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="a PostgreSQL server URL: a fresh database is made there (else SQLite)")
    parser.add_argument("--redis", help="the channel layer's Redis URL (a private redis-server if none answers)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers on the one core")
    parser.add_argument("--servers", default=",".join(SERVERS), help="the floor must not come first (it seeds nothing)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {1})  # the load generator on the other core
    work = Path(tempfile.mkdtemp(prefix="bench-http-"))
    database_url = create_postgres_database(args.postgres) if args.postgres else f"sqlite:///{work / 'db.sqlite3'}"
    redis = Redis(args.redis) if args.redis else None
    try:
        redis_url = redis.ensure() if redis else ""
        env = environment(database_url, redis_url, 0, args.workers)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        token = ""
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in args.servers.split(",")}
        for round_number in range(args.rounds):
            for name in results:
                port = free_port()
                workers = args.workers if name in {"gunicorn-sync", "gunicorn-floor"} else 1
                target = start(name, environment(database_url, redis_url, port, workers), port, work / f"{name}.log")
                try:
                    token = token or seed(port)  # the floor answers anything: seeded by the first project server
                    results[name].append(measure(port, token, args.concurrency, args.seconds, target.process.pid))
                finally:
                    stop(target)
                print(round_number, name, json.dumps(results[name][-1]), flush=True)
        print_table(results)
    finally:
        if redis is not None:
            redis.stop()
        if args.postgres:
            drop_postgres_database(database_url)


if __name__ == "__main__":
    main()
