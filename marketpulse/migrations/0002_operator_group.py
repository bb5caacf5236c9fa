"""The operator role is the group "operator" (marketpulse.accounts.permissions.OPERATOR_GROUP)."""

from django.db import migrations


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="operator")


class Migration(migrations.Migration):
    dependencies = [
        ("marketpulse", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
