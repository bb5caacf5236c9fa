# The market report moved from prices to analytics: state only, the table stays.
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("prices", "0003_sync")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="MarketReport",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("day", models.DateField(unique=True)),
                        ("created_at", models.DateTimeField(auto_now=True)),
                        ("data", models.JSONField()),
                    ],
                    options={"ordering": ["-day"], "db_table": "prices_marketreport"},
                ),
            ],
            database_operations=[],
        ),
    ]
