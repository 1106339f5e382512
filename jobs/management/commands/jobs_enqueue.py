"""``manage.py jobs_enqueue NAME '{"key": "value"}' [--in SECONDS]``: enqueue a job by hand."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs import enqueue, enqueue_in
from jobs.runner import UnknownJob, resolve


class Command(BaseCommand):
    help = "Enqueue a job by its dotted name with JSON keyword arguments (to re-run one, or to try a worker)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="e.g. emails.services.send_missed_messages")
        parser.add_argument("kwargs", nargs="?", default="{}", help="a JSON object, e.g. '{\"user_id\": 3}'")
        parser.add_argument("--in", dest="delay", type=float, default=None, help="run it this many seconds from now")

    def handle(self, *args: Any, name: str, kwargs: str, delay: float | None, **options: Any) -> None:
        try:
            job = resolve(name)
            arguments = json.loads(kwargs)
        except (UnknownJob, ValueError) as error:
            raise CommandError(str(error)) from None
        if not isinstance(arguments, dict):
            raise CommandError("kwargs must be a JSON object")
        job_id = enqueue(job, **arguments) if delay is None else enqueue_in(delay, job, **arguments)
        self.stdout.write(job_id)
