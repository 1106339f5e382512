"""The Redis and PostgreSQL a benchmark run borrows: found or started, and left as they were.

Redis: the one at the given URL when it answers; otherwise, if ``redis-server`` is installed, a private
one on a free port that lives as long as the run. Keys are namespaced by a per-target prefix and
deleted afterwards. PostgreSQL (only with ``--postgres``): one throw-away database per target.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import uuid
from urllib.parse import urlparse


class ServiceError(RuntimeError):
    """A service a target needs is not available."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def answers(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


class Redis:
    """A Redis URL for the run, and our own redis-server when nothing answers at the requested one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._process: subprocess.Popen[bytes] | None = None

    def ensure(self) -> str:
        if answers(self.url, 6379) or self._process is not None:
            return self.url
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceError(f"Redis is not answering at {self.url} and redis-server is not installed")
        port = free_port()
        # Not pinned: Redis stands for a separate machine, so it must not take the server's core away.
        self._process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{port}/0"
        for _ in range(100):
            if answers(self.url, port):
                return self.url
            time.sleep(0.05)
        raise ServiceError("the private redis-server did not start")

    def cpu_seconds(self) -> float:
        """Redis's own user+sys CPU (INFO cpu): the layer's cost, on top of the server's."""
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            info = client.info("cpu")
        finally:
            client.close()
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def delete_prefix(self, prefix: str) -> None:
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start : start + 500])
        finally:
            client.close()

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5)
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait()
            self._process = None


def create_postgres_database(server_url: str) -> str:
    """Create an empty database on ``server_url`` (postgres://user@host:port) and return its URL."""
    import psycopg

    name = f"chat_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(f"{server_url.rstrip('/')}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise ServiceError(f"cannot create a PostgreSQL database on {server_url}: {exc}") from exc
    return f"{server_url.rstrip('/')}/{name}"


def drop_postgres_database(database_url: str) -> None:
    import psycopg

    server_url, name = database_url.rsplit("/", 1)
    with contextlib.suppress(psycopg.Error), psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
