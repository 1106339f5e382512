"""History pages and unread counts are served by indexes (so they stay fast with millions of rows).

The planner is asked how it would run the selectors' queries; on PostgreSQL sequential scans are
switched off for the test, since with a handful of rows a scan would be the cheaper plan.
"""

from typing import Any

import pytest
from django.db import connection

from messaging.models import Message
from messaging.selectors import room_list_for_user
from messaging.services import room_join
from messaging.tests.factories import general, send

pytestmark = pytest.mark.django_db


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row) for row in cursor.fetchall())


def test_a_history_page_uses_the_room_seq_index(user):
    send(user, "x")

    page = Message.objects.filter(room=general(), seq__lt=100).order_by("-seq")[:11]

    used = plan(page)
    # SQLite backs a unique constraint with an automatic index of its own name.
    assert "message_unique_room_seq" in used or "USING INDEX sqlite_autoindex_messaging_message" in used
    assert "room_id=? AND seq<?" in used or "room_id" in used


def test_unread_counts_are_an_index_range_not_a_scan(user, other_user):
    room_join(actor=other_user, room=general())
    send(user, "x")
    # The shape of the unread subquery of room_list_for_user: others' live messages after a seq.
    unread = Message.objects.filter(room=general(), is_deleted=False, seq__gt=0).exclude(sender=other_user)

    used = plan(unread)

    assert "message_unread_idx" in used or "message_unique_room_seq" in used or "sqlite_autoindex" in used
    assert "Seq Scan on messaging_message" not in used
    assert "SCAN messaging_message" not in used
    room: Any = room_list_for_user(user=other_user).get()  # annotated with "unread"
    assert room.unread == 1


def test_purging_by_age_uses_the_created_at_index(user):
    from django.utils import timezone

    send(user, "x")

    assert "message_created_at_idx" in plan(Message.objects.filter(created_at__lt=timezone.now()))
