"""The service's Prometheus metrics, defined once for every process (README "Metrics").

Every metric is a module-level object of prometheus_client; code counts with ``inc``/``observe`` and
never scans anything to do so. On the delivery path a broadcast costs a few increments whatever its
number of recipients.

Several processes on one host (gunicorn's workers; daphne processes sharing a directory) use
prometheus_client's multiprocess mode: with ``PROMETHEUS_MULTIPROC_DIR`` set before this module is
imported, each process writes its values to files there and a scrape of any of them adds the files up
(``scrape_registry``). Gauges say how processes combine: the open sockets are summed over live processes
only (``livesum``), so a dead process's sockets drop out when it is marked dead (``forget_dead_processes``).
Without the variable (``make run``, the tests) the values live in this process.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    multiprocess,
)
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The *_created series double the output and nothing here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus_client leaves it untyped

# --- sockets --------------------------------------------------------------------------------------------
SOCKETS_OPEN = Gauge(
    "chat_sockets_open", "Sockets registered with the hub, by kind.", ["kind"], multiprocess_mode="livesum"
)
SOCKET_CONNECTS = Counter("chat_socket_connects", "WebSocket handshakes accepted, by kind.", ["kind"])
SOCKET_CLOSES = Counter(
    "chat_socket_closes", "Sockets closed, by kind and close code (the server's code when it closed).", ["kind", "code"]
)
HANDSHAKES = Counter(
    "chat_handshakes",
    "WebSocket handshakes by outcome: refused over CHAT_MAX_PENDING_HANDSHAKES (503), completed (the consumer "
    "finished connecting), dropped (the connection ended first: the client gave up, a timeout, a refusal).",
    ["outcome"],
)
HANDSHAKES_PENDING = Gauge(
    "chat_handshakes_pending", "WebSocket handshakes in progress (holding a slot).", multiprocess_mode="livesum"
)
HANDSHAKES_WAITING = Gauge(
    "chat_handshakes_waiting",
    "WebSocket upgrades over CHAT_MAX_PENDING_HANDSHAKES waiting for a slot.",
    multiprocess_mode="livesum",
)

# --- the hub and delivery -------------------------------------------------------------------------------
HUB_EVENTS = Counter(
    "chat_hub_events", "Events the hub routed to this process's sockets, by event and where it was committed.",
    ["event", "source"],
)  # fmt: skip
DELIVERIES = Counter(
    "chat_deliveries",
    "Broadcast frames handed to sockets: written directly to daphne (fast_path) or queued for ASGI send (fallback).",
    ["path"],
)
FAST_PATH = DELIVERIES.labels(path="fast_path")
FALLBACK = DELIVERIES.labels(path="fallback")
DELIVERY_LAG = Histogram(
    "chat_delivery_lag_seconds",
    "From the commit of an event to its write to this process's sockets, once per broadcast.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
GAP_FILLS = Counter(
    "chat_gap_fills",
    "Reads of missed messages from the database by a room's stream: after a gap in seqs (gap) or by the "
    "periodic catch-up (sync).",
    ["reason"],
)
RESYNCS = Counter("chat_resyncs", "resync frames sent: a client missed more than CHAT_REPLAY_LIMIT messages.")
LAYER_OUTAGES = Counter(
    "chat_layer_outages", "Times the channel layer became unreachable, by who noticed (hub, relay).", ["component"]
)
PRESENCE_SWEEPS = Counter("chat_presence_sweeps", "Presence heartbeats that renewed this process and swept dead ones.")
PRESENCE_SWEPT_USERS = Counter(
    "chat_presence_swept_users", "Users announced offline by a sweep: their last socket was on a dead process."
)

# --- HTTP and budgets -----------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "chat_http_requests", "HTTP requests by view (route name), method and status.", ["view", "method", "status"]
)
HTTP_DURATION = Histogram(
    "chat_http_request_duration_seconds",
    "HTTP request durations by view (route name) and method, through every middleware.",
    ["view", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
BUDGET_REFUSALS = Counter("chat_budget_refusals", "Per-user budget refusals (core/budgets.py), by budget.", ["scope"])

# Close codes any endpoint may send; a client can close with any of 3000-4999 too, so only these and
# the protocol's own (named by the caller) are labels of their own.
STANDARD_CLOSE_CODES = frozenset({1000, 1001, 1005, 1006, 1011, 1012, 1013})
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def close_code_label(code: object, known: frozenset[int]) -> str:
    """A bounded label for a close code: the code when it is standard or in ``known``, else "other"."""
    return str(code) if code in STANDARD_CLOSE_CODES or code in known else "other"


def method_label(method: str | None) -> str:
    return method if method in HTTP_METHODS else "other"


# --- exposition -----------------------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class _Collectors:
    """Several collectors as one (the process's registry plus what is computed at scrape time)."""

    def __init__(self, collectors: Iterable[Collector]) -> None:
        self.collectors = list(collectors)

    def collect(self):  # type: ignore[no-untyped-def]  # prometheus_client's Collector leaves it untyped
        for collector in self.collectors:
            yield from collector.collect()


def scrape_registry(*extra: Collector) -> CollectorRegistry:
    """What ``/metrics`` exposes: every process's files in multiprocess mode, else this process's registry;
    plus ``extra`` collectors (values read at scrape time, such as the job queue's depth)."""
    registry = CollectorRegistry(auto_describe=False)
    directory = multiprocess_dir()
    if directory:
        # A process killed without cleaning up (kill -9) would otherwise count its sockets for ever.
        for pid in _dead_pids(Path(directory)):
            mark_dead(pid, directory)
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]  # untyped upstream
    else:
        registry.register(_Collectors([REGISTRY]))
    for collector in extra:
        registry.register(collector)
    return registry


_PID_IN_NAME = re.compile(r"_(\d+)\.db$")


def prepare_directory(directory: str | None = None) -> list[int]:
    """At a server's start: create the multiprocess directory and remove every file of a process that
    is no longer running (a previous run, a killed process); return their pids. Their counters go with
    them, which Prometheus sees as a counter reset, as after any restart."""
    directory = directory or multiprocess_dir()
    if not directory:
        return []
    Path(directory).mkdir(parents=True, exist_ok=True)
    dead = _dead_pids(Path(directory))
    for pid in dead:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]  # untyped upstream
        for file in Path(directory).glob(f"*_{pid}.db"):
            with contextlib.suppress(FileNotFoundError):
                file.unlink()
    return dead


def mark_dead(pid: int, directory: str | None = None) -> None:
    """A process of the directory ended (gunicorn's arbiter after a worker exits; a server at exit): its
    live gauges stop counting. Its counters stay, so that sums over processes never go down."""
    directory = directory or multiprocess_dir()
    if directory:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]  # untyped upstream


def _dead_pids(path: Path) -> list[int]:
    pids = {int(match.group(1)) for file in path.glob("*.db") if (match := _PID_IN_NAME.search(file.name))}
    return sorted(pid for pid in pids if not _running(pid))


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
