"""What a worker runs for every job: the job, then on failure its retry with backoff or its end.

django-q2 records each try as a successful or failed task (the admin's "Successful tasks" and "Failed
tasks"); the retry is a new scheduled call, so each try is visible on its own.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.module_loading import import_string

from jobs import api, engine
from jobs.retry import GiveUp, RetryLater

logger = logging.getLogger("jobs")


class UnknownJob(LookupError):
    """A stored call names something that is not a job (renamed or removed since it was enqueued)."""


def execute(name: str, kwargs: dict[str, Any], attempt: int = 1) -> Any:
    """Run one try of the job ``name``; re-raise its error after scheduling the next try, if any."""
    job = resolve(name)
    token = api._attempt.set(attempt)
    try:
        return job.func(**kwargs)
    except (Exception, *engine.STOPPED) as error:
        _after_failure(job, kwargs, attempt, error)
        raise
    finally:
        api._attempt.reset(token)


def resolve(name: str) -> api.Job:
    try:
        found = import_string(name)
    except ImportError:
        found = None
    if not isinstance(found, api.Job):
        raise UnknownJob(f"{name!r} is not a job")
    return found


def _after_failure(job: api.Job, kwargs: dict[str, Any], attempt: int, error: BaseException) -> None:
    delay = None if isinstance(error, GiveUp) else job.retry.delay(attempt)
    if isinstance(error, RetryLater) and error.delay is not None and delay is not None:
        delay = max(0.0, error.delay)
    if delay is None:
        logger.error("Job %s failed for good after %d tries: %r (%s)", job.name, attempt, error, kwargs)
        _give_up(job, kwargs, error)
        return
    eta = timezone.now() + timedelta(seconds=delay)
    engine.submit(name=job.name, kwargs=kwargs, attempt=attempt + 1, eta=eta)
    logger.warning(
        "Job %s failed (try %d of %d): %r; trying again in %.1fs", job.name, attempt, job.retry.attempts, error, delay
    )


def _give_up(job: api.Job, kwargs: dict[str, Any], error: BaseException) -> None:
    if job.on_give_up is None:
        return
    try:
        job.on_give_up(kwargs, error)
    except Exception:
        logger.exception("The give-up hook of job %s failed", job.name)
