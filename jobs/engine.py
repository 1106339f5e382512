"""The task engine behind ``jobs``: django-q2 with its ORM broker. The only module that knows it.

A job is stored as a call of ``jobs.runner.execute(name, kwargs, attempt)``: a row of the broker's
queue (``OrmQ``) to run now, or a one-off ``Schedule`` row for later, which a worker turns into a queue
row when it falls due. Both rows live in our database, written in the caller's transaction. A worker
that takes a queue row locks it for CHAT_JOBS_REDELIVER_AFTER seconds and deletes it when the job
ends; if the worker dies first, the lock lapses and another worker (or the restarted one) takes it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.exceptions import TimeoutException

if TYPE_CHECKING:
    from django_q.cluster import Cluster

# django-q2's models, broker and cluster are imported where used: `jobs` is imported while apps load
# (domain modules declare jobs), and django_q.cluster calls django.setup() when imported too early.

RUNNER = "jobs.runner.execute"
# What a job's failure looks like besides an Exception: django-q2 stops an overdue job with SystemExit.
STOPPED = (TimeoutException,)


@dataclass(frozen=True)
class Call:
    """One stored job call, as the runner receives it."""

    name: str
    kwargs: dict[str, Any]
    attempt: int


def submit(*, name: str, kwargs: dict[str, Any], attempt: int, eta: datetime | None) -> str:
    """Store a call of ``name``: queued now, or scheduled for ``eta``. Returns an id for logs."""
    from django_q.models import Schedule
    from django_q.tasks import async_task

    label = f"{name} (try {attempt})"[:100]
    options = {"task_name": label, "group": name[:100]}
    # atomic: a savepoint inside the caller's transaction, and outside one it keeps django-q2's broker
    # from closing the caller's database connection (it does so in autocommit mode).
    with transaction.atomic():
        if eta is None or eta <= timezone.now():
            return str(async_task(RUNNER, name, kwargs, attempt, q_options=options))
        row = Schedule.objects.create(
            name=label,
            func=RUNNER,
            args=repr((name, kwargs, attempt)),
            kwargs=repr({"q_options": options}),
            schedule_type=Schedule.ONCE,
            repeats=-1,  # a ONCE schedule with negative repeats is deleted when it runs
            next_run=eta,
        )
    return f"schedule-{row.pk}"


def release_due(broker: Any = None) -> bool:
    """Queue the scheduled calls that are due (a worker calls this every CHAT_JOBS_SCHEDULE_INTERVAL;
    django-q2's own scheduler only looks every 30 seconds). Returns whether any were due."""
    from django_q.brokers import get_broker
    from django_q.models import Schedule
    from django_q.scheduler import scheduler

    due = Schedule.objects.filter(next_run__lte=timezone.now()).exclude(repeats=0)
    if not due.exists():
        return False
    scheduler(broker=broker or get_broker())
    return True


def start_cluster() -> Cluster:
    """Start this worker's processes: django-q2's sentinel, which runs the pusher (takes jobs from the
    queue), CHAT_JOBS_CONCURRENCY job processes and the monitor (records results, acknowledges)."""
    from django_q.brokers import get_broker
    from django_q.cluster import Cluster

    cluster = Cluster(get_broker())
    cluster.start()
    return cluster


def cluster_alive(cluster: Cluster) -> bool:
    return cluster.sentinel is not None and cluster.sentinel.is_alive()


def take_next(horizon: datetime) -> Call | None:
    """Remove and return the next stored call: queued ones first, then scheduled ones due by ``horizon``
    (for ``jobs.testing.drain``, which runs them in the test's process instead of a worker)."""
    from django_q.models import OrmQ, Schedule
    from django_q.signing import SignedPackage

    queued = OrmQ.objects.filter(key=settings.Q_CLUSTER["name"]).order_by("id").first()
    if queued is not None:
        queued.delete()
        task = SignedPackage.loads(queued.payload)
        return Call(*task["args"])
    scheduled = Schedule.objects.filter(func=RUNNER, next_run__lte=horizon).order_by("next_run", "id").first()
    if scheduled is not None:
        scheduled.delete()
        return Call(*ast.literal_eval(scheduled.args))
    return None


def pending() -> dict[str, int]:
    """How many calls wait: queued now, and scheduled for later (the admin shows each of them)."""
    from django_q.models import OrmQ, Schedule

    return {
        "queued": OrmQ.objects.filter(key=settings.Q_CLUSTER["name"]).count(),
        "scheduled": Schedule.objects.filter(func=RUNNER).count(),
    }


def depth() -> dict[str, int]:
    """``pending()`` and the failed tries on record (django-q2 keeps them until an operator deletes
    them in the admin): the job queue's depth as ``/metrics`` reports it."""
    from django_q.models import Failure

    return {**pending(), "failed": Failure.objects.filter(func=RUNNER).count()}
