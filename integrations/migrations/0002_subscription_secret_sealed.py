"""Subscription secrets sealed at rest (core/sealing.py): the column widens, then every secret stored in
the clear is sealed under the running SECRET_KEY. Reversible: unsealing writes them back in the clear.

The rows are read and written with SQL: the field now seals and unseals, so the ORM would neither read
a secret stored in the clear nor leave a value unsealed."""

from django.db import migrations

import core.sealing

PURPOSE = "integrations.subscription-secret"


def _rewrite(schema_editor, change):
    connection = schema_editor.connection
    table = connection.ops.quote_name("integrations_subscription")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, secret FROM {table}")  # noqa: S608  (a constant table name)
        rows = cursor.fetchall()
        for row_id, value in rows:
            new = change(value)
            if new != value:
                cursor.execute(f"UPDATE {table} SET secret = %s WHERE id = %s", [new, row_id])  # noqa: S608


def _is_sealed(value):
    try:
        core.sealing.unseal(value, purpose=PURPOSE)
    except Exception:
        return False
    return True


def seal_secrets(apps, schema_editor):
    _rewrite(schema_editor, lambda value: value if not value or _is_sealed(value) else core.sealing.seal(value, purpose=PURPOSE))


def unseal_secrets(apps, schema_editor):
    _rewrite(schema_editor, lambda value: core.sealing.unseal(value, purpose=PURPOSE) if _is_sealed(value) else value)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_webhooks_and_subscriptions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="subscription",
            name="secret",
            field=core.sealing.SealedCharField(max_length=255, purpose=PURPOSE),
        ),
        migrations.RunPython(seal_secrets, unseal_secrets),
    ]
