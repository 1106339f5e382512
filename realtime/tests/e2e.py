"""Real processes for end-to-end tests: daphne servers of this project, a private Redis, HTTP helpers.

Everything here talks to the servers as a client would (HTTP and WebSockets on loopback), so what the
tests observe is what a deployment does: several daphne processes sharing one database and one Redis."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

BASE_DIR = Path(__file__).resolve().parents[2]
SECRET_KEY = "e2e-" + "k" * 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(predicate, *, timeout: float, interval: float = 0.05, what: str = "condition") -> float:
    """Poll ``predicate`` until true; return the seconds it took, or raise AssertionError."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class RedisServer:
    """A private redis-server on a free port (no persistence), which tests may kill and restart."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.binary is not None, "redis-server is not installed"
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, timeout=10, what="redis-server to start")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(5)
            self.process = None

    def keys(self, pattern: str) -> list[str]:
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            return sorted(key.decode() for key in cast(list[bytes], client.keys(pattern)))
        finally:
            client.close()

    def group_sizes(self, prefix: str) -> dict[str, int]:
        """Subscribed processes per channel-layer group, for the layer in use (core: sorted sets of
        channel names; pubsub: Redis subscriptions)."""
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            if os.environ.get("CHAT_CHANNEL_LAYER", "pubsub") == "pubsub":
                marker = f"{prefix}__group__"
                channels = [c.decode() for c in cast(list[bytes], client.pubsub_channels(f"{marker}*"))]
                counts = cast(list[tuple[bytes, int]], client.pubsub_numsub(*channels)) if channels else []
                return {name.decode()[len(marker) :]: count for name, count in counts}
            marker = f"{prefix}:group:"
            return {k.decode()[len(marker) :]: client.zcard(k) for k in cast(list[bytes], client.keys(f"{marker}*"))}
        finally:
            client.close()

    def zmembers(self, key: str) -> list[str]:
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            return sorted(member.decode() for member in cast(list[bytes], client.zrange(key, 0, -1)))
        finally:
            client.close()


@dataclass
class Server:
    """One daphne process serving chatsite.asgi:application."""

    name: str
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def start(self) -> None:
        log = self.log_path.open("ab")
        command = [sys.executable, "-m", "chatsite.serve", "-b", "127.0.0.1", "-p", str(self.port)]
        self.process = subprocess.Popen(command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._healthy, timeout=30, interval=0.1, what=f"{self.name} to serve /healthz")

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited; see {self.log_path}:\n{self.log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(self.http + "/healthz", timeout=1) as response:  # noqa: S310
                return int(response.status) == 200
        except (OSError, urllib.error.URLError):
            return False

    def kill(self) -> None:
        """kill -9: no cleanup of any kind runs in the process."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(5)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None

    def request(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.http + path, data=data, method=method)  # noqa: S310
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def sign_up(self, username: str, password: str = "e2e-long-passphrase") -> tuple[int, str]:
        """Create a user over the API and return (id, access token)."""
        status, user = self.request("POST", "/api/v1/users/", {"username": username, "password": password})
        assert status == 201, user
        status, tokens = self.request("POST", "/api/v1/auth/token/", {"username": username, "password": password})
        assert status == 200, tokens
        return user["id"], tokens["access"]


def server_env(*, database_url: str, redis_url: str, prefix: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CHAT_LAYER_PREFIX": prefix,
        "CHAT_PRESENCE_HEARTBEAT": "0.5",
        "CHAT_PRESENCE_EXPIRY": "2",
        "CHAT_GROUP_EXPIRY": "3",
        "CHAT_HUB_SYNC_INTERVAL": "0.5",
        "CHAT_LAYER_TIMEOUT": "0.5",
        "CHAT_SIGNUP_RATE": "1000/min",
        "CHAT_TOKEN_RATE": "1000/min",
        "CHAT_SOCKET_RATE": "1000",
        "CHAT_SOCKET_BURST": "1000",
        "CHAT_MESSAGE_RATE": "100000/100s",
        "CHAT_NOTIFICATION_RATE": "100000/100s",
        "CHAT_MAX_SOCKETS_PER_USER": "1000",
        "CHAT_MAX_SOCKETS_PER_IP": "10000",
        "CHAT_ACCESS_TOKEN_LIFETIME": "1h",
        "CHAT_JOBS_WORKER": "external",  # jobs run only where a test starts workers (jobs/tests/topology.py)
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    env.pop("CHAT_REQUIRE_SERVICES", None)
    return env


def migrate(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SECRET_KEY": SECRET_KEY}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=BASE_DIR, env=env, check=True, capture_output=True
    )


@contextlib.contextmanager
def migrated_database(directory: Path) -> Iterator[str]:
    """A database URL other processes can use, migrated: a SQLite file in ``directory``, or a fresh
    PostgreSQL database (dropped afterwards) when the suite runs on PostgreSQL."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith("postgres"):
        url = f"sqlite:///{directory / 'e2e.sqlite3'}"
        migrate(url)
        yield url
        return
    import psycopg

    base, _, _name = configured.rpartition("/")
    name = unique("chat_e2e_")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        migrate(f"{base}/{name}")
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"
