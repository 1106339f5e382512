"""Message search on PostgreSQL: fill 100,000 messages, time typical searches, show the query plans.

Runs in-process against the database of DATABASE_URL (migrated first; messages are added only up to
``--messages``, so a second run reuses them), timing ``messaging.search.message_search`` plus building
each result's message payload: the server's work for one ``GET /api/v1/search/`` without HTTP. Prints a
Markdown table (median and p95 of ``--repeat`` runs per query) and ``EXPLAIN ANALYZE`` of the matching
query, which should show the GIN index ``message_search_idx``. Not part of the test run.

    createdb -h 127.0.0.1 -U postgres chat_search_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chat_search_bench .venv/bin/python -m bench.search
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from typing import Any

ROOMS_PUBLIC = 15
ROOMS_PRIVATE = 5
USERS = 50
# Words people write in a work chat, drawn often, and a long tail of rarer made-up words.
COMMON = [
    "deploy", "release", "build", "test", "review", "merge", "branch", "fix", "bug", "issue", "meeting",
    "today", "tomorrow", "please", "thanks", "server", "database", "query", "index", "cache", "latency",
    "error", "warning", "customer", "ticket", "design", "draft", "update", "check", "running", "failed",
    "passed", "green", "red", "ready", "done", "lunch", "coffee", "call", "later", "morning", "report",
    "budget", "plan",
]  # fmt: skip
SYLLABLES = "ka lo mi ne su ta ri po ve da gu fe zo wi ba ce hu jo ly xe".split()  # noqa: SIM905

QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("common word", {"query": "deploy"}),
    ("two common words", {"query": "release failed"}),
    ("rare word (0.2% of messages)", {"query": "nezokami"}),
    ("prefix while typing", {"query": "datab"}),
    ("three words, last a prefix", {"query": "customer ticket upd"}),
    ("common word in one room", {"query": "review", "room_slug": "bench-public-3"}),
    ("common word from one sender", {"query": "coffee", "sender_id": None}),  # filled in with a user id
    ("no match", {"query": "zzzzqqq"}),
    ("rare word by relevance", {"query": "nezokami", "order": "relevance"}),
    ("common word by relevance (ranks all 10%)", {"query": "deploy", "order": "relevance"}),
]


def _setup_django() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (see this module's docstring).")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import django

    django.setup()


def _sentence(rng: random.Random, rare: list[str]) -> str:
    words = [rng.choice(COMMON) if rng.random() < 0.35 else rng.choice(rare) for _ in range(rng.randint(4, 24))]
    return " ".join(words).capitalize() + rng.choice([".", "!", "?", ""])


def fill(count: int, seed: int = 7) -> Any:
    """Users, rooms and ``count`` messages (added only up to ``count``); the searching user."""
    from django.db import transaction

    from messaging.models import Membership, Message, Room
    from users.models import User

    rng = random.Random(seed)
    rare = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(5000)]
    users = [User.objects.get_or_create(username=f"bench-search-{n}")[0] for n in range(USERS)]
    rooms = [
        Room.objects.get_or_create(slug=f"bench-public-{n}", defaults={"name": f"Public {n}"})[0]
        for n in range(ROOMS_PUBLIC)
    ]
    for n in range(ROOMS_PRIVATE):
        room = Room.objects.get_or_create(
            slug=f"bench-private-{n}", defaults={"name": f"Private {n}", "kind": Room.Kind.PRIVATE}
        )[0]
        rooms.append(room)
        # The searching user is in every other private room: the rest must stay out of their results.
        for user in users[:10] if n % 2 == 0 else users[1:10]:
            Membership.objects.get_or_create(room=room, user=user)
    missing = count - Message.objects.filter(room__in=rooms).count()
    batch = 5000
    while missing > 0:
        size = min(batch, missing)
        with transaction.atomic():
            rows = []
            for _ in range(size):
                room = rng.choice(rooms)
                room.last_seq += 1
                rows.append(
                    Message(room=room, seq=room.last_seq, sender=rng.choice(users), content=_sentence(rng, rare))
                )
            Message.objects.bulk_create(rows)
            for room in rooms:
                Room.objects.filter(pk=room.pk).update(last_seq=room.last_seq)
        missing -= size
        print(f"  filled {count - missing}/{count}", file=sys.stderr)
    return users[0]


def time_queries(user: Any, repeat: int) -> list[tuple[str, str, float, float, int]]:
    from messaging.search import message_search

    rows = []
    for label, params in QUERIES:
        params = dict(params)
        if "sender_id" in params:
            params["sender_id"] = user.pk + 1
        timings = []
        hits = 0
        for _ in range(repeat):
            started = time.perf_counter()
            page = message_search(user=user, **params)  # builds each hit's payload
            timings.append((time.perf_counter() - started) * 1000)
            hits = len(page.hits)
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
        rows.append((label, params["query"], statistics.median(timings), p95, hits))
    return rows


def explain(user: Any, query: str) -> str:
    """EXPLAIN ANALYZE of the query that finds a page of matching ids (the search's only heavy one)."""
    from django.db import connection

    from messaging import search
    from messaging.models import Message
    from messaging.selectors import readable_rooms

    messages = Message.objects.filter(is_deleted=False, room__in=readable_rooms(user=user))
    ids = search._matching(messages, search.search_words(query)).order_by("-pk").values_list("pk", flat=True)[:21]
    sql, params = ids.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--explain", default="deploy", help="the query whose plan is shown")
    args = parser.parse_args()
    _setup_django()
    from django.core.management import call_command
    from django.db import connection

    from messaging.models import Message

    call_command("migrate", verbosity=0)
    user = fill(args.messages)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE messaging_message")
    print(f"{Message.objects.count()} messages; {args.repeat} runs per query; the searching user reads "
          f"{ROOMS_PUBLIC} public and 3 of {ROOMS_PRIVATE} private rooms\n")  # fmt: skip
    print("| query | q | median ms | p95 ms | results on the page |")
    print("|---|---|---|---|---|")
    for label, query, median, p95, hits in time_queries(user, args.repeat):
        print(f"| {label} | `{query}` | {median:.1f} | {p95:.1f} | {hits} |")
    print(f"\nEXPLAIN ANALYZE of the matching query for `{args.explain}`:\n")
    print(explain(user, args.explain))
    for query in ("datab", "nezokami"):
        print(f"\nEXPLAIN ANALYZE for `{query}`:\n")
        print(explain(user, query))


if __name__ == "__main__":
    main()
