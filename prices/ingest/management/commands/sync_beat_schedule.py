"""Creates the default beat entries that are missing (admin edits are kept)."""

from django.core.management.base import BaseCommand

from prices.ingest.schedule import sync_beat_schedule


class Command(BaseCommand):
    help = "Create the default Celery beat schedule entries that are missing."

    def handle(self, *args: object, **options: object) -> None:
        created = sync_beat_schedule()
        self.stdout.write(f"beat schedule: {len(created)} entries created")
