"""Background jobs with real worker processes: on PostgreSQL, two ``jobs_worker`` processes (the scaled
deployment); on SQLite, the worker a server runs by itself (``make run``). See jobs/tests/topology.py."""

from __future__ import annotations

import json
import time

import pytest

from jobs.tests.sample_jobs import runs
from jobs.tests.topology import alive, started_pids, topology, worker_of
from realtime.tests.e2e import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    with topology(tmp_path_factory.mktemp("jobs-e2e")) as running:
        yield running


@pytest.fixture
def trace(tmp_path):
    return str(tmp_path / "runs.jsonl")


def kwargs(**values) -> str:
    return json.dumps(values)


def test_an_enqueued_job_runs_once_on_a_worker(jobs, trace):
    jobs.enqueue("jobs.tests.sample_jobs.touch", kwargs(path=trace, note="hello"))

    wait_until(lambda: runs(trace), timeout=20, what="the job to run")
    time.sleep(0.5)  # no second run follows
    (run,) = runs(trace)
    assert run["note"] == "hello"
    assert worker_of(run["pid"], jobs.worker_pids()) is not None


def test_a_delayed_job_runs_after_its_time_and_not_before(jobs, trace):
    enqueued_at = time.time()
    jobs.enqueue("jobs.tests.sample_jobs.touch", kwargs(path=trace), delay=2)

    wait_until(lambda: runs(trace), timeout=20, what="the delayed job to run")
    (run,) = runs(trace)
    assert run["at"] >= enqueued_at + 2


def test_a_failing_job_is_retried_with_backoff_until_it_succeeds(jobs, trace):
    # fail_then_succeed: Backoff(base=1, factor=2, no jitter): tries 2 and 3 wait at least 1 s, then 2 s.
    jobs.enqueue("jobs.tests.sample_jobs.fail_then_succeed", kwargs(path=trace, failures=2))

    wait_until(lambda: len(runs(trace)) >= 3, timeout=30, what="three tries")
    time.sleep(0.5)
    tries = runs(trace)
    assert [run["attempt"] for run in tries] == [1, 2, 3]
    assert tries[1]["at"] - tries[0]["at"] >= 1
    assert tries[2]["at"] - tries[1]["at"] >= 2


def test_a_worker_killed_mid_job_does_not_lose_the_job(jobs, trace):
    # The first run sleeps 3 s; the worker running it is killed as soon as it starts. The queue's lock
    # lapses after CHAT_JOBS_REDELIVER_AFTER (5 s here) and the job runs again, to the end.
    jobs.enqueue("jobs.tests.sample_jobs.slow_the_first_time", kwargs(path=trace, seconds=3))
    wait_until(lambda: runs(trace), timeout=20, interval=0.02, what="the job to start")
    first = runs(trace)[0]
    victim = worker_of(first["pid"], jobs.worker_pids())
    assert victim is not None

    jobs.kill_worker(victim)

    wait_until(lambda: not alive(first["pid"]), timeout=5, what="the job's process to die with its worker")
    wait_until(lambda: len(runs(trace)) >= 2, timeout=30, what="the job to run again")
    second = runs(trace)[1]
    assert second["pid"] != first["pid"]
    assert second["attempt"] == 1  # redelivered, not a retry after a failure
    if jobs.kind == "embedded":
        # The server started a new embedded worker; the killed one left no process behind.
        assert started_pids(jobs.server.log_path)[-1] != victim
    else:
        for worker in jobs.workers:
            if worker.process is None:
                worker.start()
