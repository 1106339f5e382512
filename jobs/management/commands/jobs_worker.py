"""``manage.py jobs_worker``: run background jobs until stopped (SIGTERM/SIGINT finish running jobs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from jobs import worker


class Command(BaseCommand):
    help = "Run background jobs (any number of workers may run at once, on any host sharing the database)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--parent-pid", type=int, default=None, help="Stop when this process is gone (the embedded worker)."
        )

    def handle(self, *args: Any, parent_pid: int | None = None, **options: Any) -> None:
        heartbeat = Path(settings.CHAT_JOBS_HEARTBEAT_FILE) if settings.CHAT_JOBS_HEARTBEAT_FILE else None
        worker.run(parent_pid=parent_pid, heartbeat=heartbeat)
