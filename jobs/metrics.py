"""The job queue's depth for ``/metrics``, read from the database at scrape time.

Every process would report the same numbers, so they are not kept per process: whichever process is
scraped counts the rows (three indexed counts) when it is asked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from jobs import engine

logger = logging.getLogger(__name__)

NAME = "chat_jobs"


class JobQueueCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        try:
            counts = engine.depth()
        except Exception:
            logger.warning("Could not count the job queue for /metrics", exc_info=True)
            return
        family = GaugeMetricFamily(
            NAME,
            "Background jobs: queued (ready to run), scheduled (delayed or waiting to retry), "
            "failed (tries on record).",
            labels=["state"],
        )
        for state in ("queued", "scheduled", "failed"):
            family.add_metric([state], counts[state])
        yield family
