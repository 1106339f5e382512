"""Message search: only readable rooms, only live text, safe highlights, bad input refused.

Runs on SQLite (FTS5) by default and on PostgreSQL (tsvector + GIN) under DATABASE_URL.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from messaging import search
from messaging.models import Message, Room
from messaging.search_index import search_index_drop, search_index_ensure
from messaging.services import (
    files_upload,
    message_delete,
    message_edit,
    messages_purge,
    room_remove_member,
)
from messaging.tests.factories import general, make_room, png, send

pytestmark = pytest.mark.django_db
URL = "/api/v1/search/"


def found(client, **params) -> list[str]:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return [result["message"]["content"] for result in response.json()["results"]]


# --- what is found -----------------------------------------------------------------------------------


def test_it_finds_every_word_stemmed_and_the_last_as_a_prefix(api, user):
    send(user, "The deployment is running late")
    send(user, "deploy finished")
    send(user, "nothing to see")

    assert found(api, q="running") == ["The deployment is running late"]
    assert found(api, q="run deploy") == ["The deployment is running late"]
    assert found(api, q="deploym") == ["The deployment is running late"]
    assert found(api, q="late deplo") == ["The deployment is running late"]
    assert found(api, q="finished deploy") == ["deploy finished"]


def test_results_are_newest_first_in_the_message_payload(api, user):
    first = send(user, "release one")
    second = send(user, "release two")

    body = api.get(URL, {"q": "release"}).json()

    assert [r["message"]["id"] for r in body["results"]] == [second.pk, first.pk]
    message = body["results"][0]["message"]
    assert message["room"] == "general"
    assert message["sender"]["username"] == "alice"
    assert message["is_mine"] is True
    assert body["next"] is None


def test_the_highlight_marks_the_matching_words(api, user):
    send(user, "we ship the release on friday")

    [result] = api.get(URL, {"q": "release"}).json()["results"]

    assert "<mark>release</mark>" in result["highlight"]


def test_the_highlight_is_escaped_html_with_only_mark_tags(api, user):
    send(user, 'alert <script>alert("x")</script> <img src=x onerror=alert(1)> & "quotes" \ue000 \ue001 alert')

    [result] = api.get(URL, {"q": "alert"}).json()["results"]

    highlight = result["highlight"]
    assert "<mark>alert</mark>" in highlight
    assert re.findall(r"<(/?\w+)", highlight) == ["mark", "/mark"] * highlight.count("<mark>")
    assert "<script" not in highlight
    assert "<img" not in highlight


def test_highlight_html_balances_and_escapes_whatever_marks_it_gets():
    assert search.highlight_html("a \ue000<b>\ue001 c") == "a <mark>&lt;b&gt;</mark> c"
    assert search.highlight_html("\ue001x\ue000y") == "x<mark>y</mark>"
    assert search.highlight_html("\ue000\ue000x\ue001\ue001") == "<mark>x</mark>"


def test_edits_are_found_by_their_new_text_and_not_the_old(api, user):
    message = send(user, "original wording")

    message_edit(actor=user, message_id=message.pk, content="replacement phrasing")

    assert found(api, q="original") == []
    assert found(api, q="replacement") == ["replacement phrasing"]


def test_deleted_messages_are_never_found(api, user):
    message = send(user, "secret plan")

    message_delete(actor=user, message_id=message.pk)

    assert found(api, q="secret") == []


def test_purged_messages_leave_nothing_in_the_index(api, user, staff_user):
    send(user, "purgeable words")
    room = make_room()
    send(user, "purgeable too", room=room)

    messages_purge(actor=staff_user, room=general())
    assert found(api, q="purgeable") == ["purgeable too"]

    room.delete()  # cascades to its messages
    assert found(api, q="purgeable") == []
    assert index_rows() == Message.objects.count()


def index_rows() -> int:
    """Rows of the full-text index (PostgreSQL: messages with a non-empty vector)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT COUNT(*) FROM messaging_message_fts_docsize")
        else:
            cursor.execute("SELECT COUNT(*) FROM messaging_message WHERE search_vector IS NOT NULL")
        return cursor.fetchone()[0]


# --- who sees what -----------------------------------------------------------------------------------


def test_private_rooms_never_reach_a_non_member(user, other_user, api, other_api):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))
    send(user, "confidential budget", room=private)

    assert found(api, q="confidential") == ["confidential budget"]
    assert found(other_api, q="confidential") == []


def test_a_member_who_left_no_longer_finds_the_room(user, other_user, other_api):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user))
    send(user, "confidential budget", room=private)
    assert found(other_api, q="confidential") == ["confidential budget"]

    room_remove_member(actor=other_user, room=private, user=other_user)

    assert found(other_api, q="confidential") == []
    assert other_api.get(URL, {"q": "confidential", "room": private.slug}).status_code == 404


def test_a_room_filter_on_an_unreadable_room_is_the_same_404_as_a_missing_one(user, other_api):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))
    send(user, "confidential", room=private)

    hidden = other_api.get(URL, {"q": "confidential", "room": private.slug})
    missing = other_api.get(URL, {"q": "confidential", "room": "no-such-room"})

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == {"detail": "No such room.", "code": "not_found"}


def test_signed_out_callers_get_401(anon_client):
    assert anon_client.get(URL, {"q": "x"}).status_code == 401


# --- filters and pages -------------------------------------------------------------------------------


def test_it_filters_by_room_sender_and_dates(api, user, other_user):
    room = make_room()
    send(user, "topic in general")
    send(other_user, "topic from bob")
    send(user, "topic elsewhere", room=room)
    old = send(user, "topic long ago")
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    week_ago = (timezone.now() - timedelta(days=7)).isoformat()

    assert found(api, q="topic", room=room.slug) == ["topic elsewhere"]
    assert found(api, q="topic", sender=other_user.pk) == ["topic from bob"]
    assert found(api, q="topic", before=week_ago) == ["topic long ago"]
    assert "topic long ago" not in found(api, q="topic", after=week_ago)
    assert len(found(api, q="topic", after=week_ago)) == 3


def test_has_file_keeps_messages_with_attachments(api, user):
    [upload] = files_upload(uploader=user, uploads=[png()])
    send(user, "photo attached", attachment_ids=[upload.pk])
    send(user, "photo described")

    assert found(api, q="photo", has="file") == ["photo attached"]
    assert found(api, q="photo", has="image") == ["photo attached"]


def test_cursor_pages_through_every_result_once(api, user):
    for number in range(7):
        send(user, f"page item {number}")

    seen: list[str] = []
    response = api.get(URL, {"q": "item", "limit": 3})
    while True:
        body = response.json()
        seen += [r["message"]["content"] for r in body["results"]]
        if body["next"] is None:
            break
        assert "q=item" in body["next"]
        response = api.get(body["next"])

    assert seen == [f"page item {n}" for n in reversed(range(7))]


def test_the_page_costs_a_fixed_number_of_queries(api, user, django_assert_max_num_queries):
    [upload] = files_upload(uploader=user, uploads=[png()])
    send(user, "many files", attachment_ids=[upload.pk])
    for _ in range(10):
        send(user, "many words")

    # Authentication (user), then: matching ids, messages with senders and rooms, attachments, highlights.
    with django_assert_max_num_queries(6):
        assert len(found(api, q="many")) == 11


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["", "   ", "&|!():*'\\", None])
def test_a_query_without_words_is_query_too_short(api, q):
    response = api.get(URL, {} if q is None else {"q": q})

    assert response.status_code == 400
    assert response.json()["code"] == "query_too_short"


def test_search_operators_in_a_query_are_plain_separators(api, user):
    send(user, "cats and dogs")

    for q in [
        "cats & dogs",
        "cats | dogs",
        "!cats",
        "cats:* dogs",
        "'cats' (dogs)",
        'c"ats',
        "cats\\ dogs",
        "NEAR(cats",
    ]:
        response = api.get(URL, {"q": q})
        assert response.status_code == 200, q
    assert found(api, q="cats & dogs") == ["cats and dogs"]
    assert found(api, q="cats OR zebra") == []  # OR is a word, not an operator


def test_a_ten_thousand_character_query_is_refused(api):
    response = api.get(URL, {"q": "a" * 10_000})

    assert response.status_code == 400
    assert "q" in response.json()


def test_too_many_words_are_refused(api):
    response = api.get(URL, {"q": " ".join(["word"] * (search.QUERY_MAX_WORDS + 1))})

    assert response.status_code == 400
    assert response.json()["code"] == "too_long"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"before": "yesterday"}, "before"),
        ({"after": "2026-13-45"}, "after"),
        ({"cursor": "abc"}, "cursor"),
        ({"cursor": "0"}, "cursor"),
        ({"cursor": str(2**70)}, "cursor"),
        ({"sender": "bob"}, "sender"),
        ({"has": "link"}, "has"),
        ({"limit": "1000"}, "limit"),
        ({"room": "not a slug!"}, "room"),
    ],
)
def test_bad_filters_are_field_errors(api, params, field):
    response = api.get(URL, {"q": "hello", **params})

    assert response.status_code == 400
    assert field in response.json()


# --- the index itself ---------------------------------------------------------------------------------


def test_existing_messages_are_indexed_when_the_index_is_rebuilt(api, user):
    send(user, "indexed before")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the test's transaction has deferred foreign-key checks pending
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    search_index_ensure(connection=connection, language=settings.CHAT_SEARCH_LANGUAGE, rebuild=True)

    assert found(api, q="indexed") == ["indexed before"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's triggers")
def test_lost_triggers_are_put_back_and_what_they_missed_is_indexed(api, user):
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER messaging_message_fts_ai")
    send(user, "written while the trigger was gone")

    done = search_index_ensure(connection=connection, language=settings.CHAT_SEARCH_LANGUAGE)

    assert done.startswith("built")
    assert found(api, q="trigger") == ["written while the trigger was gone"]
    assert search_index_ensure(connection=connection, language=settings.CHAT_SEARCH_LANGUAGE) == "up to date"


def test_the_matching_query_reads_the_full_text_index(user):
    send(user, "indexed words")
    ids = search._matching(Message.objects.order_by(), ["indexed"]).values_list("pk", flat=True)
    sql, params = ids.query.sql_with_params()

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # With a handful of rows a scan would be cheaper; ask how the index would be used.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        used = "\n".join(str(row) for row in cursor.fetchall())

    assert "message_search_idx" in used or "VIRTUAL TABLE INDEX" in used, used


def test_order_relevance_puts_the_best_match_first_and_pages_by_offset(api, user):
    best = send(user, "alpha alpha alpha")
    for n in range(4):
        send(user, f"alpha beta gamma delta epsilon zeta eta theta {n}")

    first = api.get(URL, {"q": "alpha", "order": "relevance", "limit": 2}).json()
    assert first["results"][0]["message"]["id"] == best.pk
    assert "order=relevance" in first["next"]
    assert "cursor=2" in first["next"]

    seen = [r["message"]["id"] for r in first["results"]]
    response = api.get(first["next"])
    while True:
        body = response.json()
        seen += [r["message"]["id"] for r in body["results"]]
        if body["next"] is None:
            break
        response = api.get(body["next"])
    assert sorted(seen) == sorted(Message.objects.values_list("pk", flat=True))
    assert len(seen) == 5


def test_order_relevance_goes_only_so_deep(api):
    response = api.get(URL, {"q": "alpha", "order": "relevance", "cursor": search.RELEVANCE_DEPTH + 1})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_an_unknown_order_is_a_field_error(api):
    response = api.get(URL, {"q": "alpha", "order": "oldest"})

    assert response.status_code == 400
    assert "order" in response.json()


def test_after_a_migrate_an_index_that_was_removed_stays_removed_until_its_migration_runs(api, user):
    send(user, "still here")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the test's transaction has deferred foreign-key checks pending
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    search_index_drop(connection=connection)
    language = settings.CHAT_SEARCH_LANGUAGE

    # What post_migrate runs (messaging/apps.py), e.g. after the search migration was unapplied.
    assert search_index_ensure(connection=connection, language=language, repair_only=True) == "not installed"

    assert search_index_ensure(connection=connection, language=language).startswith("built")
    assert found(api, q="still") == ["still here"]
