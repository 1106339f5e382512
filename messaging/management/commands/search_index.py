"""Install, repair or rebuild the full-text index of messages (messaging/search_index.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from messaging.search_index import search_index_ensure


class Command(BaseCommand):
    help = (
        "Bring the message search index up to date (every migrate does this too); --rebuild reindexes every "
        "message, e.g. after changing CHAT_SEARCH_LANGUAGE."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="Reindex every message.")
        parser.add_argument("--database", default="default", help="The database alias (default: default).")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        done = search_index_ensure(
            connection=connection, language=settings.CHAT_SEARCH_LANGUAGE, rebuild=options["rebuild"]
        )
        self.stdout.write(f"Search index on {connection.vendor}: {done}.")
