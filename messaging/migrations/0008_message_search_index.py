"""The full-text index of messages: a generated tsvector column with a GIN index on PostgreSQL, an FTS5
table kept in step by triggers on SQLite (messaging/search_index.py). Indexes the existing messages."""

from django.conf import settings
from django.db import migrations

from messaging.search_index import search_index_drop, search_index_ensure


def install(apps, schema_editor):
    search_index_ensure(connection=schema_editor.connection, language=settings.CHAT_SEARCH_LANGUAGE)


def uninstall(apps, schema_editor):
    search_index_drop(connection=schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0007_reactions_pins_edit_history"),
    ]

    operations = [
        migrations.RunPython(install, uninstall, elidable=False),
    ]
