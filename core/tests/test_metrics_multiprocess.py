"""prometheus_client's multiprocess mode as the servers use it: processes sharing one directory, any of
them scraped for all, the open sockets of dead processes no longer counted, a starting server cleaning up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from core import metrics

ROOT = Path(__file__).resolve().parents[2]
WRITER = """
import sys
from core import metrics
n = int(sys.argv[1])
metrics.HTTP_REQUESTS.labels(view="message-list", method="GET", status="200").inc(n)
metrics.SOCKETS_OPEN.labels(kind="messages").inc(n)
metrics.DELIVERY_LAG.observe(0.003 * n)
print("ready", flush=True)
sys.stdin.readline()
"""


class Writer:
    """A process that counts ``n`` of everything into the directory, then waits until told to exit."""

    def __init__(self, directory: Path, n: int) -> None:
        env = {"PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": "/usr/bin:/bin"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(n)], cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == b"ready"

    def exit(self) -> None:
        self.process.communicate(b"\n", timeout=30)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(30)


@pytest.fixture
def directory(tmp_path, monkeypatch) -> Path:
    path = Path(tmp_path) / "metrics"
    path.mkdir()
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(path))
    return path


def scrape() -> dict[tuple[str, tuple], float]:
    text = generate_latest(metrics.scrape_registry()).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


REQUESTS = ("chat_http_requests_total", (("method", "GET"), ("status", "200"), ("view", "message-list")))
SOCKETS = ("chat_sockets_open", (("kind", "messages"),))
LAG_COUNT = ("chat_delivery_lag_seconds_count", ())


def test_a_scrape_adds_up_every_process(directory):
    first, second = Writer(directory, 2), Writer(directory, 3)

    samples = scrape()

    assert samples[REQUESTS] == 5
    assert samples[SOCKETS] == 5
    assert samples[LAG_COUNT] == 2
    first.exit()
    second.exit()


def test_a_dead_process_keeps_its_counters_but_not_its_open_sockets(directory):
    alive, killed = Writer(directory, 2), Writer(directory, 3)
    killed.kill()  # kill -9: nothing of it cleaned up after itself

    samples = scrape()

    assert samples[SOCKETS] == 2  # only the live process's sockets
    assert samples[REQUESTS] == 5  # a sum over processes never goes down
    alive.exit()


def test_a_starting_server_removes_the_files_of_processes_gone(directory):
    gone = Writer(directory, 4)
    gone.exit()
    alive = Writer(directory, 1)
    pid_of_gone = gone.process.pid

    assert metrics.prepare_directory() == [pid_of_gone]
    assert not list(directory.glob(f"*_{pid_of_gone}.db"))
    assert scrape()[REQUESTS] == 1
    alive.exit()


def test_gunicorns_arbiter_marks_an_exited_worker_dead(directory):
    worker = Writer(directory, 3)
    worker.exit()

    metrics.mark_dead(worker.process.pid)

    assert scrape().get(SOCKETS, 0) == 0
    assert scrape()[REQUESTS] == 3


def test_without_a_directory_nothing_is_prepared(monkeypatch):
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)

    assert metrics.prepare_directory() == []
    assert scrape()  # this process's own registry
