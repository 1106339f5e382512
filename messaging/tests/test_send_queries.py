"""The queries of a send, pinned, so the hot path cannot grow a query silently: the socket path is the
seq's UPDATE (which also checks who may post, services/posting.py), the INSERT and the outgoing-webhook
probe; REST adds the room's lookup. An edit checks the mute in its UPDATE."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.services import message_edit, message_send
from messaging.tests.factories import general, send

pytestmark = pytest.mark.django_db

TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?')
SUBQUERY = re.compile(r"\([^()]*\)")


def statements(queries: CaptureQueriesContext) -> list[str]:
    """Each query as its first word and its (first) table, so a failure reads as a diff of statements."""
    found = []
    for query in queries.captured_queries:
        sql = query["sql"]
        while SUBQUERY.search(sql):  # the table of the statement, not of an EXISTS in it
            sql = SUBQUERY.sub("", sql)
        verb = sql.split()[0].upper()
        table = TABLE.search(sql)
        found.append(f"{verb} {table.group(1)}" if table and verb not in {"SAVEPOINT", "RELEASE"} else verb)
    return found


def test_a_socket_send_is_three_statements(user):
    room = general()
    send(user, "warm-up", room=room)

    with CaptureQueriesContext(connection) as queries:
        message_send(sender=user, content="hello", room=room, client_id="q-1")

    assert statements(queries) == [
        "SAVEPOINT",  # the send's transaction (BEGIN outside a test)
        "UPDATE messaging_room",  # the seq, and whether the room is writable by them, archived, muted, post policy
        "INSERT messaging_message",
        "SELECT integrations_subscription",  # any outgoing webhook listening?
        "RELEASE",
    ]


def test_a_rest_send_looks_the_room_up_first(user, api):
    general()
    send(user, "warm-up")

    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/v1/messages/", {"content": "hello", "room": "general"}, format="json")

    assert response.status_code == 201
    assert statements(queries) == [
        "SELECT users_user",  # the token's user
        "SELECT messaging_room",  # readable by them? (banned, member)
        "SAVEPOINT",
        "UPDATE messaging_room",
        "INSERT messaging_message",
        "SELECT integrations_subscription",
        "RELEASE",
    ]


def test_an_edit_checks_the_mute_in_its_update(user):
    mine = send(user, "before")

    with CaptureQueriesContext(connection) as queries:
        message_edit(actor=user, message_id=mine.pk, content="after")

    assert statements(queries) == [
        "SELECT messaging_message",  # readable by them? with its room and sender
        "SELECT messaging_attachment",
        "SAVEPOINT",
        "INSERT messaging_messageversion",
        "UPDATE messaging_message",  # unless muted
        "RELEASE",
    ]
