"""The room role "admin" becomes "moderator" (DESIGN.md, second release: owner / moderator / member)."""

from django.db import migrations, models


def admin_to_moderator(apps, schema_editor):
    apps.get_model("messaging", "Membership").objects.filter(role="admin").update(role="moderator")


def moderator_to_admin(apps, schema_editor):
    apps.get_model("messaging", "Membership").objects.filter(role="moderator").update(role="admin")


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0003_attachment_thumbnail"),
    ]

    operations = [
        migrations.AlterField(
            model_name="membership",
            name="role",
            field=models.CharField(
                choices=[("owner", "Owner"), ("moderator", "Moderator"), ("member", "Member")],
                default="member",
                max_length=10,
            ),
        ),
        migrations.RunPython(admin_to_moderator, moderator_to_admin),
    ]
