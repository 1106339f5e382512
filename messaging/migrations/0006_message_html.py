"""Messages keep their markdown rendered to sanitized HTML beside the text (``Message.html``); existing
messages are rendered here, in batches by id so that a large table is never held in memory."""

import operator
from functools import reduce

from django.db import migrations, models
from django.db.models import Q

BATCH = 500


def render_existing(apps, schema_editor):
    from messaging.formatting import mentioned_usernames, render

    message_model = apps.get_model("messaging", "Message")
    user_model = apps.get_model("users", "User")
    last_id = 0
    while True:
        batch = list(
            message_model.objects.filter(pk__gt=last_id, is_deleted=False).exclude(content="").order_by("pk")[:BATCH]
        )
        if not batch:
            return
        names = sorted(set().union(*(mentioned_usernames(message.content) for message in batch)) - {""})
        known = {}
        if names:
            by_name = reduce(operator.or_, (Q(username__iexact=name) for name in names))
            users = user_model.objects.filter(by_name, is_active=True).values_list("username", "pk")
            known = {username.lower(): pk for username, pk in users}
        for message in batch:
            message.html = render(message.content, mentions=known)
        message_model.objects.bulk_update(batch, ["html"])
        last_id = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0005_threads_and_read_receipts"),
        ("users", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="html",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(render_existing, migrations.RunPython.noop, elidable=True),
    ]
