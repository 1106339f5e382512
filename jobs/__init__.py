"""Background jobs: the one API domain code uses to run work later, elsewhere, and again on failure.

    from jobs import Backoff, job

    @job(retry=Backoff(attempts=5, base=30))
    def deliver(*, delivery_id: int) -> None: ...

    deliver.enqueue(delivery_id=7)                          # as soon as a worker is free
    deliver.enqueue_in(timedelta(minutes=10), delivery_id=7) # or enqueue_at(<aware datetime>, ...)

The engine underneath (django-q2 with its ORM broker) is an implementation detail of ``jobs.engine``;
README "Background jobs" says why it was chosen and how workers run.
"""

from jobs.api import Job, current_attempt, enqueue, enqueue_at, enqueue_in, job
from jobs.retry import NO_RETRY, Backoff, GiveUp, RetryLater

__all__ = [
    "NO_RETRY",
    "Backoff",
    "GiveUp",
    "Job",
    "RetryLater",
    "current_attempt",
    "enqueue",
    "enqueue_at",
    "enqueue_in",
    "job",
]
