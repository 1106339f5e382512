"""The full-text index of message content, one per database vendor (read by messaging/search.py).

- PostgreSQL: a stored generated ``tsvector`` column, ``search_vector``, of ``content``: its words
  stemmed in the configured language (so "running" finds "run") and as written, lower-cased (so the
  prefix "deploym" finds "deployment", whose stem is "deploy"), with a GIN index. PostgreSQL recomputes
  it on every insert and update, and it goes with its row on every delete (purges and room deletions'
  cascades included).
- SQLite: an FTS5 table, ``messaging_message_fts``, over ``messaging_message.content`` (external
  content, rowid = message id), kept in step by triggers on insert, update of ``content`` and delete.
  Words are indexed as written (case and accents folded, no stemming: FTS5 stems English only, and its
  stems break prefixes); messaging/search.py matches every word as a prefix instead.

Neither is a model field: the ORM never reads or writes them. ``search_index_ensure`` installs the
index or brings it up to date (language changed; triggers lost when SQLite rebuilt the message table
for a later migration, which drops a table's triggers) and is idempotent: the migration runs it, and
so does every ``migrate`` afterwards (messaging/apps.py, post_migrate), and ``manage.py search_index``.
"""

from __future__ import annotations

import re

from django.db.backends.base.base import BaseDatabaseWrapper

MESSAGE_TABLE = "messaging_message"
PG_COLUMN = "search_vector"
PG_INDEX = "message_search_idx"
FTS_TABLE = "messaging_message_fts"
# Table names spelt out (constant SQL, no formatting).
_TRIGGERS = {
    "messaging_message_fts_ai": """
        CREATE TRIGGER messaging_message_fts_ai AFTER INSERT ON messaging_message BEGIN
            INSERT INTO messaging_message_fts(rowid, content) VALUES (new.id, new.content);
        END""",
    "messaging_message_fts_ad": """
        CREATE TRIGGER messaging_message_fts_ad AFTER DELETE ON messaging_message BEGIN
            INSERT INTO messaging_message_fts(messaging_message_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
        END""",
    "messaging_message_fts_au": """
        CREATE TRIGGER messaging_message_fts_au AFTER UPDATE OF content ON messaging_message BEGIN
            INSERT INTO messaging_message_fts(messaging_message_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
            INSERT INTO messaging_message_fts(rowid, content) VALUES (new.id, new.content);
        END""",
}
_LANGUAGE = re.compile(r"[a-z_]{1,63}")


SQLITE_TOKENIZER = "unicode61 remove_diacritics 2"


def search_index_ensure(
    *, connection: BaseDatabaseWrapper, language: str, rebuild: bool = False, repair_only: bool = False
) -> str:
    """Install or repair the index of ``connection``'s vendor in ``language``; say what was done.

    Indexes every existing message when it (re)builds. ``rebuild`` forces a full rebuild;
    ``repair_only`` leaves a database without the index (its migration not applied, or unapplied) alone.
    """
    if not _LANGUAGE.fullmatch(language):
        raise ValueError(f"Not a text search configuration name: {language!r}")
    if MESSAGE_TABLE not in connection.introspection.table_names():
        return "no message table"
    if repair_only and not _installed(connection):
        return "not installed"
    if connection.vendor == "postgresql":
        return _ensure_postgresql(connection, language, rebuild=rebuild)
    if connection.vendor == "sqlite":
        return _ensure_sqlite(connection, rebuild=rebuild)
    return f"no full-text index on {connection.vendor}"


def _installed(connection: BaseDatabaseWrapper) -> bool:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            columns = connection.introspection.get_table_description(cursor, MESSAGE_TABLE)
        return any(column.name == PG_COLUMN for column in columns)
    return FTS_TABLE in connection.introspection.table_names()


def search_index_drop(*, connection: BaseDatabaseWrapper) -> None:
    """Remove the index (the migration's reverse)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
            cursor.execute(f"ALTER TABLE {MESSAGE_TABLE} DROP COLUMN IF EXISTS {PG_COLUMN}")
        elif connection.vendor == "sqlite":
            for trigger in _TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def _ensure_postgresql(connection: BaseDatabaseWrapper, language: str, *, rebuild: bool) -> str:
    expression = f"to_tsvector('{language}'::regconfig, content) || to_tsvector('simple'::regconfig, content)"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a JOIN pg_attrdef d"
            " ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
            " WHERE a.attrelid = %s::regclass AND a.attname = %s AND NOT a.attisdropped",
            [MESSAGE_TABLE, PG_COLUMN],
        )
        row = cursor.fetchone()
        current = row[0] if row else None
        done = "up to date"
        if current is not None and (rebuild or expression not in current):
            cursor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
            cursor.execute(f"ALTER TABLE {MESSAGE_TABLE} DROP COLUMN {PG_COLUMN}")
            current = None
        if current is None:
            # Adding a stored generated column computes it for every existing row.
            cursor.execute(
                f"ALTER TABLE {MESSAGE_TABLE} ADD COLUMN {PG_COLUMN} tsvector GENERATED ALWAYS AS ({expression}) STORED"
            )
            done = f"built in {language}"
        cursor.execute(f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON {MESSAGE_TABLE} USING gin ({PG_COLUMN})")
    return done


def _ensure_sqlite(connection: BaseDatabaseWrapper, *, rebuild: bool) -> str:
    tokenizer = SQLITE_TOKENIZER
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE name = %s OR tbl_name = %s", [FTS_TABLE, MESSAGE_TABLE]
        )
        objects = dict(cursor.fetchall())
        table_sql = objects.get(FTS_TABLE)
        if table_sql is not None and f"tokenize='{tokenizer}'" not in table_sql:
            search_index_drop(connection=connection)
            objects, table_sql = {}, None
        done = "up to date"
        if table_sql is None:
            cursor.execute(
                f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(content, content='{MESSAGE_TABLE}',"
                f" content_rowid='id', tokenize='{tokenizer}')"
            )
            rebuild = True
        missing = [name for name in _TRIGGERS if name not in objects]
        for name in missing:
            cursor.execute(_TRIGGERS[name])
        if rebuild or missing:
            # Reads every message's content again (what changed while the triggers were missing too).
            cursor.execute("INSERT INTO messaging_message_fts(messaging_message_fts) VALUES ('rebuild')")
            done = f"built ({tokenizer})"
    return done
