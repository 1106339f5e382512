"""Checks of raw values shared by services and protocol parsing."""

from __future__ import annotations

MAX_DATABASE_ID = 2**63 - 1  # a larger integer would make the query itself fail


def is_database_id(value: object) -> bool:
    """A positive integer that can be a primary key (booleans are not integers here)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_DATABASE_ID


def encodable(text: str) -> bool:
    """False for strings with lone surrogates (valid JSON escapes, but not storable as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_storable_text(value: object) -> bool:
    """A string every database stores as given: no NUL (PostgreSQL refuses it, SQLite keeps it) and no
    lone surrogate (not UTF-8). Every text a client sends passes this before it is stored."""
    return isinstance(value, str) and "\x00" not in value and encodable(value)
