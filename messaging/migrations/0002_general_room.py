from django.db import migrations


def create_general(apps, schema_editor):
    Room = apps.get_model("messaging", "Room")
    Room.objects.get_or_create(slug="general", defaults={"name": "General", "kind": "public", "topic": "Everyone"})


def noop(apps, schema_editor):
    """Keep the room (and its messages) when migrating backwards."""


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]

    operations = [migrations.RunPython(create_general, noop)]
