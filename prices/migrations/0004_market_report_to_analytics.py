# The market report moved to analytics (analytics 0001): state only, the table stays.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("prices", "0003_sync"), ("analytics", "0001_market_report")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="MarketReport")],
            database_operations=[],
        ),
    ]
