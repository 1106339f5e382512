"""Declaring jobs and enqueuing them.

A job is a module-level function taking keyword arguments that survive JSON (ids and strings, never
model instances: the row may have changed by the time the job runs, so the job reads it afresh).
Jobs run at least once: a worker killed mid-job runs it again elsewhere, so a job must be safe to
repeat (check what it did before doing it again).

Enqueuing writes the job in the caller's database transaction: workers see it only once that
transaction commits, and never if it rolls back, so a job never runs before the data it refers to
exists, and a crash just after the commit cannot lose it.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, overload

from django.utils import timezone

from jobs import engine
from jobs.retry import Backoff

DEFAULT_RETRY = Backoff()
GiveUpHook = Callable[[dict[str, Any], BaseException], None]

_attempt: contextvars.ContextVar[int] = contextvars.ContextVar("job_attempt", default=1)


@dataclass(frozen=True)
class Job:
    """A function registered as a job; calling it runs it here and now, like the plain function."""

    func: Callable[..., Any]
    name: str
    retry: Backoff
    on_give_up: GiveUpHook | None = None

    def __call__(self, **kwargs: Any) -> Any:
        return self.func(**kwargs)

    def enqueue(self, **kwargs: Any) -> str:
        return enqueue(self, **kwargs)

    def enqueue_at(self, when: datetime, **kwargs: Any) -> str:
        return enqueue_at(when, self, **kwargs)

    def enqueue_in(self, delay: timedelta | float, **kwargs: Any) -> str:
        return enqueue_in(delay, self, **kwargs)


@overload
def job(func: Callable[..., Any], /) -> Job: ...
@overload
def job(*, retry: Backoff = ..., on_give_up: GiveUpHook | None = ...) -> Callable[[Callable[..., Any]], Job]: ...
def job(
    func: Callable[..., Any] | None = None, /, *, retry: Backoff = DEFAULT_RETRY, on_give_up: GiveUpHook | None = None
) -> Job | Callable[[Callable[..., Any]], Job]:
    """Make a module-level function a job. ``retry``: how failures are retried (``NO_RETRY`` for none);
    ``on_give_up(kwargs, error)`` runs in the worker after the last try failed."""

    def register(function: Callable[..., Any]) -> Job:
        if "<locals>" in function.__qualname__:
            raise TypeError("A job must be a module-level function: workers import it by its dotted path.")
        return Job(
            func=function, name=f"{function.__module__}.{function.__qualname__}", retry=retry, on_give_up=on_give_up
        )

    return register(func) if func is not None else register


def enqueue(job: Job, **kwargs: Any) -> str:
    """Run ``job(**kwargs)`` in a worker as soon as one is free, once the current transaction commits."""
    return engine.submit(name=_name_of(job), kwargs=_checked(kwargs), attempt=1, eta=None)


def enqueue_at(when: datetime, job: Job, **kwargs: Any) -> str:
    """Run ``job(**kwargs)`` in a worker at ``when`` (an aware datetime) or soon after, never before."""
    if timezone.is_naive(when):
        raise ValueError("enqueue_at needs an aware datetime (django.utils.timezone.now() + ...).")
    return engine.submit(name=_name_of(job), kwargs=_checked(kwargs), attempt=1, eta=when)


def enqueue_in(delay: timedelta | float, job: Job, **kwargs: Any) -> str:
    """``enqueue_at(now + delay, ...)``; ``delay`` in seconds or as a timedelta."""
    seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
    return enqueue_at(timezone.now() + timedelta(seconds=seconds), job, **kwargs)


def current_attempt() -> int:
    """Which try of the running job this is (1 for the first; 1 outside jobs too)."""
    return _attempt.get()


def _name_of(job: Job) -> str:
    if not isinstance(job, Job):
        raise TypeError(f"{job!r} is not a job: decorate it with @jobs.job.")
    return job.name


def _checked(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Refuse arguments that would not come back the same out of storage (datetimes, model instances)."""
    try:
        same = json.loads(json.dumps(kwargs, allow_nan=False)) == kwargs
    except (TypeError, ValueError):
        same = False
    if not same:
        raise TypeError(f"Job arguments must be JSON values (ids, strings, numbers, lists, dicts): {kwargs!r}")
    return kwargs
