"""manage.py purge_messages: delete history for good, in batches, and tell the sockets."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.utils import timezone

from core.env import parse_duration
from messaging.models import Room
from messaging.services.cleanup import orphans_sweep
from messaging.services.purge import messages_purge, purge_queryset
from users.models import AuditEntry


class Command(BaseCommand):
    help = (
        "Delete messages for good (and their files), in batches. Say what to delete with --all, "
        "--older-than and/or --room; asks for confirmation unless --yes. Clients are told with a "
        "messages_purged event. Also removes orphaned attachment files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="every message (of --room, if given)")
        parser.add_argument("--older-than", metavar="AGE", help="only messages older than AGE, e.g. 30d, 12h, 90m")
        parser.add_argument("--room", metavar="SLUG", help="only this room")
        parser.add_argument("--dry-run", action="store_true", help="count what would go, delete nothing")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--batch-size", type=int, default=1000, help="messages per transaction (default 1000)")

    def handle(self, *args: object, **options: object) -> None:
        room, older_than = self._filters(options)
        batch_size = options["batch_size"]
        if not isinstance(batch_size, int) or batch_size < 1:
            raise CommandError("--batch-size must be a positive integer.")
        scope = self._describe(room, older_than)
        total = purge_queryset(room=room, older_than=older_than).count()
        if options["dry_run"]:
            sweep = orphans_sweep(dry_run=True)
            self.stdout.write(
                f"Dry run: would delete {total} message(s) {scope}, {sweep.unattached_uploads} never-attached "
                f"upload(s) and {sweep.stray_files} stray file(s)."
            )
            return
        if total and not options["yes"]:
            self._confirm(f"Delete {total} message(s) {scope} for good? [y/N] ")
        progress = _ProgressBar(self.stderr, total) if total > batch_size else None
        deleted = messages_purge(
            actor=None,
            room=room,
            older_than=older_than,
            batch_size=batch_size,
            progress=progress,
            via=AuditEntry.Via.COMMAND,
        )
        if progress:
            progress.finish()
        sweep = orphans_sweep()
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {deleted} message(s) {scope}; removed {sweep.unattached_uploads} never-attached "
                f"upload(s) and {sweep.stray_files} stray file(s)."
            )
        )

    def _filters(self, options: dict[str, object]) -> tuple[Room | None, datetime | None]:
        if not (options["all"] or options["older_than"] or options["room"]):
            raise CommandError("Say what to delete: --all, --older-than AGE and/or --room SLUG.")
        room = None
        if options["room"]:
            room = Room.objects.filter(slug=options["room"]).first()
            if room is None:
                raise CommandError(f"No room with slug {options['room']!r}.")
        older_than = None
        if options["older_than"]:
            try:
                older_than = timezone.now() - timedelta(seconds=parse_duration(str(options["older_than"])))
            except ValueError as exc:
                raise CommandError(f"--older-than: {exc}") from None
        return room, older_than

    @staticmethod
    def _describe(room: Room | None, older_than: object) -> str:
        where = f"in #{room.slug}" if room else "in every room"
        return f"{where} older than {older_than:%Y-%m-%d %H:%M} UTC" if older_than else where

    def _confirm(self, question: str) -> None:
        self.stdout.write(question, ending="")
        self.stdout.flush()
        answer = sys.stdin.readline()
        if not answer:
            raise CommandError("No confirmation on stdin; nothing was deleted (pass --yes to skip the question).")
        if answer.strip().lower() not in {"y", "yes"}:
            raise CommandError("Cancelled; nothing was deleted.")


class _ProgressBar:
    """A one-line progress bar on a terminal; a line per tenth of the work otherwise."""

    WIDTH = 30

    def __init__(self, stream: OutputWrapper, total: int) -> None:
        self.stream, self.total, self.last_tenth = stream, total, -1
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        self.total = total
        filled = int(self.WIDTH * done / total) if total else self.WIDTH
        line = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total}"
        if self.tty:
            self.stream.write("\r" + line, ending="")
            self.stream.flush()
        elif (tenth := done * 10 // max(total, 1)) != self.last_tenth:
            self.last_tenth = tenth
            self.stream.write(line)

    def finish(self) -> None:
        if self.tty:
            self.stream.write("")
