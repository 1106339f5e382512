"""The job helpers: declaring, enqueuing after commit, delays, retries with backoff, giving up."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from jobs import NO_RETRY, Backoff, enqueue, enqueue_at, enqueue_in, job
from jobs.runner import UnknownJob, execute
from jobs.testing import drain
from jobs.tests import sample_jobs
from jobs.tests.sample_jobs import runs

pytestmark = pytest.mark.django_db


@pytest.fixture
def trace(tmp_path):
    return str(tmp_path / "runs.jsonl")


# --- Backoff ----------------------------------------------------------------------------------------------


def test_backoff_doubles_from_its_base_up_to_its_cap_then_stops():
    policy = Backoff(attempts=6, base=10, factor=2, cap=50, jitter=0)

    assert [policy.delay(n) for n in range(1, 7)] == [10, 20, 40, 50, 50, None]
    assert policy.total() == 170


def test_backoff_jitter_stays_within_its_spread():
    policy = Backoff(attempts=3, base=100, jitter=0.1)

    delays = {policy.delay(1) for _ in range(200)}

    assert all(delay is not None and 90 <= delay <= 110 for delay in delays)
    assert len(delays) > 1


def test_no_retry_means_one_try():
    assert NO_RETRY.delay(1) is None


@pytest.mark.parametrize(
    "fields", [{"attempts": 0}, {"base": -1}, {"factor": 0.5}, {"jitter": 2}, {"cap": -5}], ids=str
)
def test_an_unusable_backoff_is_refused(fields):
    with pytest.raises(ValueError, match="Not a usable backoff"):
        Backoff(**fields)


# --- Declaring and enqueuing ------------------------------------------------------------------------------


def test_a_job_is_named_by_its_dotted_path_and_runs_when_called(trace):
    assert sample_jobs.touch.name == "jobs.tests.sample_jobs.touch"

    sample_jobs.touch(path=trace)

    assert len(runs(trace)) == 1


def test_a_function_defined_inside_another_cannot_be_a_job():
    def inner() -> None:
        pass

    with pytest.raises(TypeError, match="module-level"):
        job(inner)


@pytest.mark.parametrize(
    "kwargs",
    [{"when": timezone.now()}, {"ids": (1, 2)}, {"mapping": {1: "a"}}, {"ratio": float("nan")}, {"obj": object()}],
    ids=["datetime", "tuple", "int-keys", "nan", "object"],
)
def test_arguments_that_would_not_survive_storage_are_refused_before_anything_is_stored(kwargs):
    with pytest.raises(TypeError, match="JSON values"):
        enqueue(sample_jobs.touch, **kwargs)

    assert not OrmQ.objects.exists()


def test_only_jobs_can_be_enqueued(trace):
    with pytest.raises(TypeError, match="not a job"):
        enqueue(sample_jobs.not_a_job, path=trace)  # type: ignore[arg-type]  # the refusal under test


def test_enqueue_at_needs_an_aware_datetime(trace):
    with pytest.raises(ValueError, match="aware"):
        enqueue_at(timezone.now().replace(tzinfo=None), sample_jobs.touch, path=trace)


def test_an_enqueued_job_runs_once_when_drained(trace):
    sample_jobs.touch.enqueue(path=trace, note="hi")

    assert runs(trace) == []  # nothing runs in the caller
    assert drain().names() == ["touch"]
    assert [run["note"] for run in runs(trace)] == ["hi"]
    assert drain().ran == []


def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(trace):
    def enqueue_then_fail() -> None:
        with transaction.atomic():
            enqueue(sample_jobs.touch, path=trace)
            enqueue_in(60, sample_jobs.touch, path=trace)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        enqueue_then_fail()

    assert not OrmQ.objects.exists()
    assert not Schedule.objects.exists()
    assert drain(until=timezone.now() + timedelta(hours=1)).ran == []


def test_a_delayed_job_waits_for_its_time(trace):
    eta = timezone.now() + timedelta(minutes=10)
    sample_jobs.touch.enqueue_at(eta, path=trace)

    assert drain().ran == []
    assert Schedule.objects.get().next_run == eta
    assert drain(until=eta - timedelta(seconds=1)).ran == []
    assert drain(until=eta).names() == ["touch"]
    assert not Schedule.objects.exists()


def test_enqueue_in_takes_seconds_or_a_timedelta(trace):
    before = timezone.now()
    enqueue_in(30, sample_jobs.touch, path=trace)
    sample_jobs.touch.enqueue_in(timedelta(minutes=1), path=trace)

    first, second = Schedule.objects.order_by("next_run")
    assert before + timedelta(seconds=30) <= first.next_run <= timezone.now() + timedelta(seconds=30)
    assert before + timedelta(seconds=60) <= second.next_run <= timezone.now() + timedelta(seconds=60)


# --- Failures ---------------------------------------------------------------------------------------------


def test_a_failing_job_is_retried_with_growing_delays_until_it_succeeds(trace):
    sample_jobs.fail_then_succeed.enqueue(path=trace, failures=2)

    first = drain()
    retry_1 = Schedule.objects.get()
    later = drain(until=retry_1.next_run)
    retry_2 = Schedule.objects.get()
    last = drain(until=retry_2.next_run)

    assert [len(first.failed), len(later.failed), len(last.failed)] == [1, 1, 0]
    assert [run["attempt"] for run in runs(trace)] == [1, 2, 3]
    # Backoff(base=1, factor=2): the first retry is due 1 s after the first failure, the second 2 s after
    # the second; no earlier.
    ran_at = [datetime.fromtimestamp(run["at"], tz=UTC) for run in runs(trace)]
    assert retry_1.next_run - ran_at[0] >= timedelta(seconds=1)
    assert retry_2.next_run - ran_at[1] >= timedelta(seconds=2)
    assert not Schedule.objects.exists()


def test_a_job_that_keeps_failing_stops_after_its_last_try_and_its_give_up_hook_runs(trace):
    sample_jobs.always_fails.enqueue(path=trace)

    report = drain(until=timezone.now() + timedelta(hours=1))

    assert len(report.failed) == 2
    assert len(runs(trace)) == 2
    (gave_up,) = runs(trace + ".gave-up")
    assert "never works" in gave_up["error"]
    assert not Schedule.objects.exists()


def test_give_up_stops_at_once(trace):
    sample_jobs.gives_up.enqueue(path=trace)

    report = drain(until=timezone.now() + timedelta(days=1))

    assert len(report.failed) == 1
    assert len(runs(trace)) == 1


def test_retry_later_waits_as_long_as_the_job_asked(trace):
    sample_jobs.asks_to_wait.enqueue(path=trace, seconds=120)
    drain()

    retry = Schedule.objects.get()
    assert retry.next_run >= timezone.now() + timedelta(seconds=110)
    assert drain(until=retry.next_run).names() == ["asks_to_wait"]
    assert [run["attempt"] for run in runs(trace)] == [1, 2]


def test_only_registered_jobs_run():
    with pytest.raises(UnknownJob):
        execute("os.getcwd", {}, 1)
    with pytest.raises(UnknownJob):
        execute("jobs.tests.sample_jobs.not_a_job", {"path": "/nonexistent"}, 1)
    with pytest.raises(UnknownJob):
        execute("no.such.module.job", {}, 1)


# --- manage.py jobs_enqueue -------------------------------------------------------------------------------


def test_jobs_enqueue_queues_a_job_by_name(trace):
    out = io.StringIO()
    call_command("jobs_enqueue", "jobs.tests.sample_jobs.touch", f'{{"path": "{trace}"}}', stdout=out)
    call_command("jobs_enqueue", "jobs.tests.sample_jobs.touch", f'{{"path": "{trace}"}}', "--in", "60", stdout=out)

    assert drain().names() == ["touch"]
    assert Schedule.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "kwargs", "error"),
    [
        ("os.system", "{}", "not a job"),
        ("jobs.tests.sample_jobs.touch", "{not json", "Expecting"),
        ("jobs.tests.sample_jobs.touch", "[1]", "JSON object"),
    ],
)
def test_jobs_enqueue_refuses_bad_input(name, kwargs, error):
    with pytest.raises(CommandError, match=error):
        call_command("jobs_enqueue", name, kwargs)

    assert not OrmQ.objects.exists()
