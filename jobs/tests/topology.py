"""Real processes running background jobs, for end-to-end tests, shaped like the suite's database:

- on PostgreSQL (the scaled deployment): a server, two ``manage.py jobs_worker`` processes and a private
  Redis; email goes over SMTP (the environment variables) to a sink in the test;
- on SQLite (the embedded default, ``make run``): one server that runs its embedded worker; email goes
  to the console backend, so it is read from the server's output.

Jobs are enqueued by the server (a mention becomes a missed-message email) or, for the generic tests,
by ``manage.py jobs_enqueue`` in another process.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from jobs.tests.smtp_sink import SmtpSink
from realtime.tests.e2e import BASE_DIR, RedisServer, Server, migrated_database, server_env, unique, wait_until

JOB_TIMINGS = {
    "CHAT_JOBS_SCHEDULE_INTERVAL": "0.2",
    "CHAT_JOBS_POLL": "0.1",
    # A killed worker's job comes back this soon (the defaults are 5 and 6 minutes).
    "CHAT_JOBS_TIMEOUT": "4",
    "CHAT_JOBS_REDELIVER_AFTER": "5",
    "CHAT_JOBS_CONCURRENCY": "1",
}
STARTED = re.compile(r"jobs worker started \(pid (\d+)")


@dataclass
class Worker:
    """``manage.py jobs_worker`` in a session of its own, so that killing it kills all its processes, as
    the end of a container or a host would."""

    name: str
    env: dict[str, str]
    log_dir: Path
    process: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def start(self) -> None:
        log = self.log_path.open("ab")
        command = [sys.executable, "manage.py", "jobs_worker"]
        self.process = subprocess.Popen(
            command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_until(lambda: self.pid in started_pids(self.log_path), timeout=30, what=f"{self.name} to start")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def kill(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None


@dataclass
class Topology:
    kind: str  # "workers" (PostgreSQL) or "embedded" (SQLite)
    database_url: str
    env: dict[str, str]
    server: Server
    workers: list[Worker] = field(default_factory=list)
    smtp: SmtpSink | None = None

    def enqueue(self, name: str, kwargs: str, *, delay: float | None = None) -> str:
        command = [sys.executable, "manage.py", "jobs_enqueue", name, kwargs]
        if delay is not None:
            command += ["--in", str(delay)]
        done = subprocess.run(command, cwd=BASE_DIR, env=self.env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def worker_pids(self) -> list[int]:
        """The pids of the running workers' main processes."""
        if self.kind == "workers":
            return [worker.pid for worker in self.workers if worker.pid is not None]
        pids = started_pids(self.server.log_path)
        return [pids[-1]] if pids and alive(pids[-1]) else []

    def kill_worker(self, pid: int) -> None:
        """kill -9 the worker whose main process is ``pid`` (its own processes die with it)."""
        for worker in self.workers:
            if worker.pid == pid:
                worker.kill()
                return
        os.kill(pid, signal.SIGKILL)

    def emails_to(self, address: str) -> list[EmailMessage]:
        if self.smtp is not None:
            return self.smtp.to(address)
        return [message for message in console_emails(self.server.log_path) if address in str(message["To"])]


def started_pids(log: Path) -> list[int]:
    return [int(pid) for pid in STARTED.findall(log.read_text(errors="replace"))] if log.exists() else []


def console_emails(log: Path) -> list[EmailMessage]:
    """Emails the console backend printed: each is a whole message followed by a line of 79 dashes."""
    text = log.read_text(errors="replace") if log.exists() else ""
    found = []
    for chunk in text.split("\n" + "-" * 79 + "\n")[:-1]:
        start = chunk.rfind("Content-Type: multipart/alternative")
        if start >= 0:
            found.append(email.message_from_string(chunk[start:], policy=email.policy.default))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return not stat.read().split(") ", 1)[1].startswith("Z")
    except OSError:
        return False


def worker_of(pid: int, candidates: list[int]) -> int | None:
    """Which of ``candidates`` (workers' main pids) ``pid`` (a job process) descends from."""
    while pid > 1:
        if pid in candidates:
            return pid
        try:
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().split(") ", 1)[1].split()[1])
        except OSError:
            return None
    return None


@contextlib.contextmanager
def topology(directory: Path, **extra: str) -> Iterator[Topology]:
    """The processes for the suite's database (see the module's docstring), with ``extra`` settings."""
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith("postgres"):
        with _workers(directory, extra) as running:
            yield running
    else:
        with _embedded(directory, extra) as running:
            yield running


@contextlib.contextmanager
def _workers(directory: Path, extra: dict[str, str]) -> Iterator[Topology]:
    redis = RedisServer()
    if redis.binary is None:
        import pytest

        from conftest import services_required

        if services_required():
            pytest.fail("redis-server is not installed and CHAT_REQUIRE_SERVICES is set")
        pytest.skip("redis-server is not installed: the scaled topology needs a private Redis")
    redis.start()
    with SmtpSink() as smtp, migrated_database(directory) as database_url:
        env = server_env(
            database_url=database_url,
            redis_url=redis.url,
            prefix=unique("jobs"),
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp.port),
            EMAIL_USE_TLS="false",
            **JOB_TIMINGS,
            **extra,
        )
        server = Server(name="server", env=env, log_dir=directory)
        workers = [Worker(name=f"worker-{n}", env=env, log_dir=directory) for n in (1, 2)]
        try:
            server.start()
            for worker in workers:
                worker.start()
            yield Topology("workers", database_url, env, server, workers, smtp)
        finally:
            for worker in workers:
                worker.stop()
            server.stop()
            redis.kill()


@contextlib.contextmanager
def _embedded(directory: Path, extra: dict[str, str]) -> Iterator[Topology]:
    database_url = f"sqlite:///{directory / 'embedded.sqlite3'}"
    from realtime.tests.e2e import migrate

    migrate(database_url)
    env = server_env(database_url=database_url, redis_url="", prefix=unique("jobs"), **JOB_TIMINGS, **extra) | {
        "CHAT_JOBS_WORKER": "embedded"
    }
    env.pop("EMAIL_HOST", None)  # the console backend: the email is printed, as `make run` does
    server = Server(name="server", env=env, log_dir=directory)
    try:
        server.start()
        wait_until(lambda: started_pids(server.log_path), timeout=30, what="the embedded worker to start")
        yield Topology("embedded", database_url, {**env, "CHAT_JOBS_WORKER": "external"}, server)
    finally:
        server.stop()
