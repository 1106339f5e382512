"""Running jobs inside tests, without a worker: ``drain()`` runs what is queued, here and now.

Enqueued jobs are rows in the test's database (rolled back with it), so a test decides when they run:

    message_send(...)            # enqueues, e.g., a missed-message email for later
    drain(until=now + delay)     # runs it, and anything it enqueues that falls due by then

End-to-end tests (jobs/tests/test_e2e_jobs.py) run the real worker processes instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from jobs import engine
from jobs.runner import execute


@dataclass
class Drained:
    """What ``drain`` ran: job names in order, and the failures as (name, error)."""

    ran: list[str] = field(default_factory=list)
    failed: list[tuple[str, BaseException]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [name.rsplit(".", 1)[-1] for name in self.ran]


def drain(*, until: datetime | None = None, limit: int = 1000) -> Drained:
    """Run every queued job, and every scheduled one (retries included) due by ``until`` (default: now),
    in this process, until none is left. A failure is recorded, retried as the job's policy says if the
    retry falls due by ``until``, and never raised."""
    horizon = until or timezone.now()
    report = Drained()
    for _ in range(limit):
        call = engine.take_next(horizon)
        if call is None:
            return report
        report.ran.append(call.name)
        try:
            execute(call.name, call.kwargs, call.attempt)
        except (Exception, *engine.STOPPED) as error:
            report.failed.append((call.name, error))
    raise RuntimeError(f"drain ran {limit} jobs and more are due: does a job enqueue itself?")
