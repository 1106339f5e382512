"""The servers under test: how each target is prepared, started pinned to its core, probed and stopped.

Targets are named on the command line: ``baseline`` (bench/baseline_server.py on uvicorn) and
``project-memory``, ``project-redis-core``, ``project-redis-pubsub``, each optionally suffixed ``-x2``
for two daphne processes sharing the database and Redis (clients split between them; the in-memory
layer cannot span processes, so ``project-memory-x2`` is refused). Every run starts fresh processes
from a prepared (migrated, users created) database, so one run's leftovers never skew the next.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench import procfs
from bench.services import Redis, ServiceError, create_postgres_database, drop_postgres_database, free_port
from chatsite.serve import DEFAULT_BACKLOG

PROJECT_DIR = Path(__file__).resolve().parent.parent
ROOM = "general"
REST_MESSAGES = "/api/v1/messages/"  # the baseline serves the project's path too
LONG_LIFETIME = "12h"  # access tokens must outlive the whole run
_START_TIMEOUT = 60.0
_OWN_ENV_PREFIXES = ("DJANGO_", "CHAT_", "DATABASE_")


class TargetError(RuntimeError):
    """A target could not be prepared or started; the run reports it and goes on with the others."""


@dataclass(frozen=True)
class TargetSpec:
    name: str
    kind: str  # "baseline" | "floor" | "project"
    layer: str | None = None  # "memory" | "core" | "pubsub"
    processes: int = 1
    checkout: Path | None = None  # a project target run from another checkout (before/after in one run)

    @property
    def directory(self) -> Path:
        return self.checkout or PROJECT_DIR


def parse_target(name: str) -> TargetSpec:
    """``baseline``, ``daphne-floor`` or ``project-{memory|redis-core|redis-pubsub}[-x2]``; a project
    target may name another checkout of the project to run from, ``project-memory@/tmp/before``."""
    if "@" in name:
        base, _, directory = name.partition("@")
        spec = parse_target(base)
        checkout = Path(directory).expanduser().resolve()
        if spec.kind != "project" or not (checkout / "manage.py").is_file():
            raise ValueError(f"{name!r}: only project targets take @CHECKOUT, a directory holding manage.py")
        return replace(spec, name=name, checkout=checkout)
    if name == "baseline":
        return TargetSpec(name, "baseline")
    if name == "daphne-floor":
        return TargetSpec(name, "floor")
    base, processes = (name[:-3], 2) if name.endswith("-x2") else (name, 1)
    layers = {"project-memory": "memory", "project-redis-core": "core", "project-redis-pubsub": "pubsub"}
    if base not in layers:
        raise ValueError(f"unknown target {name!r}: use baseline or project-{{memory,redis-core,redis-pubsub}}[-x2]")
    if layers[base] == "memory" and processes > 1:
        raise ValueError("project-memory-x2: the in-memory channel layer cannot reach a second process")
    return TargetSpec(name, "project", layers[base], processes)


@dataclass
class Options:
    """Run-wide settings shared by all targets."""

    host: str = "127.0.0.1"
    server_cpus: str | None = "0"
    users: int = 1000
    redis: Redis = field(default_factory=lambda: Redis("redis://127.0.0.1:6379/0"))
    postgres_url: str | None = None  # e.g. postgres://postgres@127.0.0.1:5432; None = SQLite
    python: str = sys.executable
    profile_dir: Path | None = None  # sample each project process with py-spy into this directory
    profiler_cpus: str | None = None  # keep py-spy off the server's core


@dataclass
class Prepared:
    """A target whose database is migrated and whose users and tokens exist."""

    spec: TargetSpec
    env: dict[str, str]
    tokens: list[str]
    workdir: Path
    database_url: str | None = None
    redis_prefix: str | None = None


@dataclass
class Live:
    """Running server processes of one target, and how to reach and measure them."""

    prepared: Prepared
    processes: list[subprocess.Popen[bytes]]
    ports: list[int]
    host: str
    redis: Redis | None
    profilers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.prepared.spec.name

    @property
    def tokens(self) -> list[str]:
        return self.prepared.tokens

    @property
    def ws_urls(self) -> list[str]:
        return [f"ws://{self.host}:{port}/ws/messages/?room={ROOM}" for port in self.ports]

    def server_cpu(self) -> float:
        return procfs.cpu_seconds([p.pid for p in self.processes])

    def server_rss(self) -> int:
        return procfs.rss_bytes([p.pid for p in self.processes])

    def redis_cpu(self) -> float | None:
        return self.redis.cpu_seconds() if self.redis else None


def _base_env(workdir: Path) -> dict[str, str]:
    """The caller's environment without the project's settings, so nothing configured outside leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_ENV_PREFIXES) and k != "REDIS_URL"}
    env.update({"PYTHONUNBUFFERED": "1", "DJANGO_MEDIA_ROOT": str(workdir / "media")})
    return env


def _project_env(spec: TargetSpec, workdir: Path, database_url: str, options: Options) -> tuple[dict[str, str], str]:
    prefix = f"bench{secrets.token_hex(4)}"
    env = _base_env(workdir) | {
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "DJANGO_DEBUG": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        "CHAT_ACCESS_LOG_LEVEL": "WARNING",
        "CHAT_SECURE_COOKIES": "false",
        "DATABASE_URL": database_url,
        "CHAT_ACCESS_TOKEN_LIFETIME": LONG_LIFETIME,
        # Senders must be limited by the offered load, never by the per-socket flood protection.
        "CHAT_SOCKET_RATE": "100000",
        "CHAT_SOCKET_BURST": "100000",
        "CHAT_SOCKET_FLOOD_LIMIT": "100000",
        # Nor by the per-user budgets and socket caps (one address opens every socket of a scenario).
        "CHAT_MESSAGE_RATE": "100000/100s",
        "CHAT_NOTIFICATION_RATE": "100000/100s",
        "CHAT_MAX_SOCKETS_PER_USER": "100000",
        "CHAT_MAX_SOCKETS_PER_IP": "100000",
        "CHAT_LAYER_PREFIX": prefix,
    }
    if spec.layer in {"core", "pubsub"}:
        env["REDIS_URL"] = options.redis.ensure()
        env["CHAT_CHANNEL_LAYER"] = spec.layer
    return env, prefix


def _run(cmd: list[str], env: dict[str, str], what: str, timeout: float = 300, cwd: Path = PROJECT_DIR) -> str:
    try:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise TargetError(f"{what} took longer than {timeout:.0f}s") from exc
    if done.returncode != 0:
        raise TargetError(f"{what} failed: {done.stderr.strip()[-600:]}")
    return done.stdout


def prepare(spec: TargetSpec, options: Options) -> Prepared:
    """Create the target's database, migrate it and make its users (the baseline trusts any token)."""
    safe_name = re.sub(r"[^\w-]", "_", spec.name)
    workdir = Path(tempfile.mkdtemp(prefix=f"chat-bench-{safe_name}-"))
    if spec.kind in {"baseline", "floor"}:
        return Prepared(spec, _base_env(workdir), [f"bench{i:05d}" for i in range(options.users)], workdir)
    try:
        if options.postgres_url:
            database_url = create_postgres_database(options.postgres_url)
        else:
            database_url = f"sqlite:///{workdir / 'chat.sqlite3'}"
        env, prefix = _project_env(spec, workdir, database_url, options)
    except ServiceError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise TargetError(str(exc)) from exc
    prepared = Prepared(spec, env, [], workdir, database_url, prefix if "REDIS_URL" in env else None)
    try:
        where = spec.directory
        _run([options.python, "manage.py", "migrate", "--noinput"], env, "manage.py migrate", cwd=where)
        make_users = [options.python, "-m", "bench.make_users", "--count", str(options.users)]
        out = _run(make_users, env, "make_users", cwd=where)
        prepared.tokens = json.loads(out.strip().splitlines()[-1])
    except (TargetError, ValueError, IndexError) as exc:
        cleanup(prepared, options)
        raise TargetError(str(exc)) from exc
    return prepared


def _command(spec: TargetSpec, options: Options, port: int) -> list[str]:
    if spec.kind == "baseline":
        app = ["-m", "uvicorn", "bench.baseline_server:app", "--log-level", "warning", "--no-access-log"]
        cmd = [options.python, *app, "--host", options.host, "--port", str(port)]
    elif spec.kind == "floor":
        # The same listen backlog as chatsite.serve gives the project (daphne's own default is 50).
        endpoint = f"tcp:port={port}:interface={options.host}:backlog={DEFAULT_BACKLOG}"
        cmd = [options.python, "-m", "daphne", "-e", endpoint, "bench.floor_server:application"]
    else:
        cmd = [options.python, "-m", "chatsite.serve", "-b", options.host, "-p", str(port)]
    if options.server_cpus and shutil.which("taskset"):
        cmd = ["taskset", "-c", options.server_cpus, *cmd]
    return cmd


def _healthy(host: str, port: int) -> bool:
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _wait_healthy(process: subprocess.Popen[bytes], host: str, port: int, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise TargetError(f"exited with {process.returncode}: {_tail(log)}")
        if _healthy(host, port):
            return
        time.sleep(0.1)
    raise TargetError(f"no healthy answer at http://{host}:{port}/healthz within {_START_TIMEOUT:.0f}s: {_tail(log)}")


def _tail(log: Path, chars: int = 600) -> str:
    with contextlib.suppress(OSError):
        return log.read_text(errors="replace").strip()[-chars:]
    return ""


def start(prepared: Prepared, options: Options) -> Live:
    """Start the target's processes (pinned to the server cores) and wait until /healthz answers."""
    spec = prepared.spec
    live = Live(prepared, [], [], options.host, options.redis if prepared.redis_prefix else None)
    try:
        for index in range(spec.processes):
            port = free_port(options.host)
            log = prepared.workdir / f"server-{index}.log"
            with log.open("ab") as out:
                process = subprocess.Popen(
                    _command(spec, options, port), cwd=spec.directory, env=prepared.env, stdout=out, stderr=out
                )
            live.processes.append(process)
            live.ports.append(port)
            _wait_healthy(process, options.host, port, log)
            if options.profile_dir and spec.kind == "project":
                live.profilers.append(_start_profiler(process.pid, spec.name, index, options))
    except BaseException:
        stop(live)
        raise
    return live


def restart(live: Live, options: Options) -> tuple[float, float]:
    """Stop the target's processes (SIGTERM) and start new ones on the same ports, as a deploy does;
    return when they answer /healthz: (seconds until the old ones exited, seconds until the new answered)."""
    began = time.monotonic()
    stop(live)
    stopped = time.monotonic()
    spec, processes = live.prepared.spec, []
    for index, port in enumerate(live.ports):
        log = live.prepared.workdir / f"server-{index}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                _command(spec, options, port), cwd=spec.directory, env=live.prepared.env, stdout=out, stderr=out
            )
        processes.append(process)
    live.processes, live.profilers = processes, []
    for process, port, index in zip(processes, live.ports, range(len(processes)), strict=True):
        _wait_healthy(process, options.host, port, live.prepared.workdir / f"server-{index}.log")
        if options.profile_dir and spec.kind == "project":
            live.profilers.append(_start_profiler(process.pid, spec.name, index, options))
    return stopped - began, time.monotonic() - began


def _start_profiler(pid: int, target: str, index: int, options: Options) -> subprocess.Popen[bytes]:
    """py-spy attached to a running server, sampling without pausing it (``--nonblocking``).

    Attached after /healthz answers, so start-up (imports, migrations check) is not in the profile;
    aggregated by function (``--function``) so the report sums a function's lines together.
    """
    assert options.profile_dir is not None
    py_spy = Path(options.python).with_name("py-spy")
    if not py_spy.exists():
        raise TargetError(f"--profile needs py-spy: {options.python} -m pip install -r bench/requirements-profile.txt")
    options.profile_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%H%M%S")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", target)  # project-memory@/tmp/before: no slashes in a file name
    output = options.profile_dir / f"{name}-{index}-{stamp}-{pid}.txt"
    cmd = [str(py_spy), "record", "--pid", str(pid), "--format", "raw", "--function", "--nonblocking"]
    cmd += ["--rate", "200", "--output", str(output)]
    if options.profiler_cpus and shutil.which("taskset"):
        cmd = ["taskset", "-c", options.profiler_cpus, *cmd]
    # py-spy's own messages (a refused ptrace attach, say) go to a log beside its output.
    with output.with_suffix(".log").open("ab") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=log)


def stop(live: Live) -> None:
    """SIGTERM, then SIGKILL after 10 s: a stuck server must not outlive the run.

    Profilers are interrupted first (SIGINT makes py-spy write its samples), while the server still runs.
    """
    _signal_then_kill(live.profilers, signal.SIGINT, grace_s=15)
    _signal_then_kill(live.processes, signal.SIGTERM, grace_s=10)


def _signal_then_kill(processes: list[subprocess.Popen[bytes]], signum: int, *, grace_s: float) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signum)
    for process in processes:
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def server_log(live: Live, chars: int = 600) -> str:
    return " | ".join(_tail(live.prepared.workdir / f"server-{i}.log", chars) for i in range(len(live.processes)))


def cleanup(prepared: Prepared, options: Options) -> None:
    """Drop the throw-away database and Redis keys, and remove the work directory."""
    if prepared.database_url and prepared.database_url.startswith("postgres"):
        drop_postgres_database(prepared.database_url)
    if prepared.redis_prefix:
        with contextlib.suppress(Exception):
            options.redis.delete_prefix(prepared.redis_prefix)
    shutil.rmtree(prepared.workdir, ignore_errors=True)
