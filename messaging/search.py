"""Message search: full-text over the live messages of the rooms the caller may read, newest first.

The query is cut into words (letters and digits; everything else, tsquery and FTS5 syntax included, is
a separator), every word must match (stemmed in CHAT_SEARCH_LANGUAGE) and the last one also as a prefix,
so results appear while someone types (the index also holds words as written, for prefixes of
words longer than their stem). SQLite does not stem: there every word matches as a prefix. The index
is messaging/search_index.py's. Highlights are
escaped text where only ``<mark>`` tags are markup. A page costs four queries, whatever its size.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Exists, FloatField, OuterRef, QuerySet
from django.db.models.expressions import RawSQL

from core.errors import InvalidField, InvalidInput, TooLong
from messaging.events import MESSAGE_COLUMNS
from messaging.models import Attachment, Message
from messaging.search_index import FTS_TABLE, MESSAGE_TABLE, PG_COLUMN
from messaging.selectors import message_payloads, readable_rooms, room_get_for_user
from users.models import User

QUERY_MAX_LENGTH = 200
QUERY_MAX_WORDS = 16
PAGE_SIZE = 20
MAX_PAGE = 50
HAS_CHOICES = ("file", "image")
ORDER_CHOICES = ("newest", "relevance")
RELEVANCE_DEPTH = 1000  # results by relevance are ranked all at once: so many pages at most
# Private-use characters the database puts around matches; rendered as <mark> after escaping the rest.
_OPEN, _CLOSE = "\ue000", "\ue001"
_WORD = re.compile(r"[^\W_]+")


class QueryTooShort(InvalidInput):
    """The search has no word to look for."""

    code = "query_too_short"
    default_detail = "Search for at least one word (letters or digits)."


class QueryTooLong(TooLong):
    """The search is over QUERY_MAX_LENGTH characters or QUERY_MAX_WORDS words."""

    default_detail = f"Search for at most {QUERY_MAX_WORDS} words in {QUERY_MAX_LENGTH} characters."


class InvalidCursor(InvalidField):
    """The cursor is past what the search pages through."""

    code = "invalid_cursor"


@dataclass(frozen=True)
class SearchHit:
    """A matching message as its payload (events.message_payload's shape, without is_mine)."""

    message: dict[str, Any]
    highlight: str


@dataclass(frozen=True)
class SearchPage:
    """Hits in the order asked for, and the cursor of the next page (None: this is the last)."""

    hits: list[SearchHit]
    next_cursor: int | None


def search_words(query: str) -> list[str]:
    """The words of a query, lower-cased; QueryTooShort without any, QueryTooLong over the bounds."""
    if len(query) > QUERY_MAX_LENGTH:
        raise QueryTooLong()
    words = [word.lower() for word in _WORD.findall(query)]
    if not words:
        raise QueryTooShort()
    if len(words) > QUERY_MAX_WORDS:
        raise QueryTooLong()
    return words


def message_search(
    *,
    user: User,
    query: str,
    room_slug: str | None = None,
    sender_id: int | None = None,
    before: datetime | None = None,
    after: datetime | None = None,
    has: str | None = None,
    order: str = "newest",
    cursor: int | None = None,
    limit: int | None = None,
) -> SearchPage:
    """Live messages matching ``query`` in rooms ``user`` may read, newest first (by id; ``cursor``
    is the id of the previous page's last message), or by ``order="relevance"`` (best first, newest
    among equals; ``cursor`` is how many came before, at most RELEVANCE_DEPTH). A ``room_slug`` the
    user may not read is RoomNotFound, as everywhere."""
    words = search_words(query)
    limit = max(1, min(limit or PAGE_SIZE, MAX_PAGE))
    matching = _matching(_filtered(user, room_slug, sender_id, before, after, has), words)
    if order == "relevance" and connection.vendor in {"postgresql", "sqlite"}:
        page_ids, next_cursor = _by_relevance(matching, words, cursor or 0, limit)
    else:
        if cursor is not None:
            matching = matching.filter(pk__lt=cursor)
        ids = list(matching.order_by("-pk").values_list("pk", flat=True)[: limit + 1])
        page_ids, next_cursor = ids[:limit], (ids[limit - 1] if len(ids) > limit else None)
    loaded = {payload["id"]: payload for payload in _payloads(page_ids)}
    marked = _highlights(page_ids, words)
    hits = [
        SearchHit(loaded[pk], highlight_html(marked.get(pk) or loaded[pk]["content"][:300]))
        for pk in page_ids
        if pk in loaded  # deleted between the two queries
    ]
    return SearchPage(hits, next_cursor=next_cursor)


def _by_relevance(
    matching: QuerySet[Message], words: list[str], offset: int, limit: int
) -> tuple[list[int], int | None]:
    """A page by rank: PostgreSQL's ``ts_rank_cd`` (matches close together, more often), FTS5's BM25."""
    if offset > RELEVANCE_DEPTH:
        raise InvalidCursor(f"Results by relevance go {RELEVANCE_DEPTH} deep; narrow the search instead.")
    if connection.vendor == "postgresql":
        sql, params = pg_tsquery(words)
        rank = RawSQL(f'ts_rank_cd("{MESSAGE_TABLE}"."{PG_COLUMN}", ({sql}))', params, output_field=FloatField())  # noqa: S611
        best_first = rank.desc()
    else:
        # FTS5's rank is BM25 negated: lower is better. One indexed lookup per matching message.
        bm25 = f"(SELECT rank FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s AND rowid = {MESSAGE_TABLE}.id)"  # noqa: S608
        best_first = RawSQL(bm25, [fts_query(words)], output_field=FloatField()).asc()  # noqa: S611
    end = min(offset + limit, RELEVANCE_DEPTH)
    ids = list(matching.order_by(best_first, "-pk").values_list("pk", flat=True)[offset : end + 1])
    page_ids = ids[: end - offset]
    return page_ids, (end if len(ids) > len(page_ids) and end < RELEVANCE_DEPTH else None)


def _filtered(
    user: User,
    room_slug: str | None,
    sender_id: int | None,
    before: datetime | None,
    after: datetime | None,
    has: str | None,
) -> QuerySet[Message]:
    messages = Message.objects.filter(is_deleted=False)
    if room_slug is not None:
        messages = messages.filter(room=room_get_for_user(user=user, slug=room_slug))
    else:
        messages = messages.filter(room__in=readable_rooms(user=user))
    if sender_id is not None:
        messages = messages.filter(sender_id=sender_id)
    if before is not None:
        messages = messages.filter(created_at__lt=before)
    if after is not None:
        messages = messages.filter(created_at__gt=after)
    if has is not None:
        files = Attachment.objects.filter(message=OuterRef("pk"))
        if has == "image":
            files = files.filter(content_type__startswith="image/")
        messages = messages.filter(Exists(files))
    return messages


def _matching(messages: QuerySet[Message], words: list[str]) -> QuerySet[Message]:
    if connection.vendor == "postgresql":
        sql, params = pg_tsquery(words)
        # RawSQL with parameters only: the SQL text is constant, the words are letters and digits.
        matches = RawSQL(f'"{MESSAGE_TABLE}"."{PG_COLUMN}" @@ ({sql})', params, output_field=BooleanField())  # noqa: S611
        return messages.filter(matches)
    if connection.vendor == "sqlite":
        hits = RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [fts_query(words)])  # noqa: S608, S611
        return messages.filter(pk__in=hits)
    # Another vendor: every word as a substring, without an index.
    for word in words:
        messages = messages.filter(content__icontains=word)
    return messages


def pg_tsquery(words: list[str]) -> tuple[str, list[str]]:
    """SQL of a tsquery and its parameters: every word stemmed in CHAT_SEARCH_LANGUAGE, the last one
    also as a prefix of a word as written (the index holds both forms, messaging/search_index.py).
    Each word is quoted in the tsquery text, and is only letters and digits: never an operator."""
    language = settings.CHAT_SEARCH_LANGUAGE
    *first, last = words
    sql = "to_tsquery(%s::regconfig, %s) || to_tsquery('simple'::regconfig, %s)"
    params = [language, f"'{last}'", f"'{last}':*"]
    if first:
        sql = f"to_tsquery(%s::regconfig, %s) && ({sql})"
        params = [language, " & ".join(f"'{word}'" for word in first), *params]
    return sql, params


def fts_query(words: list[str]) -> str:
    """An FTS5 query: every word a quoted string (never an operator) matched as a prefix."""
    return " ".join(f'"{word}"*' for word in words)


def _payloads(ids: list[int]) -> list[dict[str, Any]]:
    """The messages' payloads from column values (no model per hit), in two queries."""
    rows = list(Message.objects.filter(pk__in=ids).values(*MESSAGE_COLUMNS, "room__slug"))
    return message_payloads(rows)


def _highlights(ids: list[int], words: list[str]) -> dict[int, str]:
    """Each message's excerpt around its matches, matches between the _OPEN and _CLOSE marks."""
    if not ids:
        return {}
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Stemmed matches first; a word found only as a typed prefix is marked by the second.
            sql, params = pg_tsquery(words)
            simple = " & ".join(f"'{word}':*" for word in words)
            options = f"StartSel={_OPEN}, StopSel={_CLOSE}, MaxWords=30, MinWords=12, MaxFragments=2"
            cursor.execute(
                f"SELECT id, ts_headline(%s::regconfig, content, {sql}, %s),"  # noqa: S608
                f" ts_headline('simple'::regconfig, content, to_tsquery('simple'::regconfig, %s), %s)"
                f" FROM {MESSAGE_TABLE} WHERE id IN ({placeholders})",
                [settings.CHAT_SEARCH_LANGUAGE, *params, options, simple, options, *ids],
            )
            return {pk: stemmed if _OPEN in stemmed else prefixed for pk, stemmed, prefixed in cursor.fetchall()}
        elif connection.vendor == "sqlite":
            cursor.execute(
                f"SELECT rowid, snippet({FTS_TABLE}, 0, %s, %s, '…', 24) FROM {FTS_TABLE}"  # noqa: S608
                f" WHERE {FTS_TABLE} MATCH %s AND rowid IN ({placeholders})",
                [_OPEN, _CLOSE, fts_query(words), *ids],
            )
        else:
            return {}
        return {pk: text for pk, text in cursor.fetchall() if text}


def highlight_html(marked: str) -> str:
    """Escape ``marked`` as HTML text and turn its match marks into balanced ``<mark>`` tags: the only
    markup a highlight ever carries, whatever the message contains."""
    parts: list[str] = []
    inside = False
    for piece in re.split(f"([{_OPEN}{_CLOSE}])", marked):
        if piece in (_OPEN, _CLOSE):
            if (piece == _OPEN) != inside:
                parts.append("<mark>" if piece == _OPEN else "</mark>")
                inside = not inside
        else:
            parts.append(html.escape(piece))
    if inside:
        parts.append("</mark>")
    return "".join(parts)
