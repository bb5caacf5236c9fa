"""Loads the real demo candles shipped in data/demo/ (idempotent: a second run changes nothing)."""

import csv
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from tqdm import tqdm

from assets.services import ensure_asset
from prices.importing import import_candle_file

DEMO_DIR = Path(settings.BASE_DIR) / "data" / "demo"


class Command(BaseCommand):
    help = "Load the real demo candles from data/demo/ (safe to run again)."

    def handle(self, *args: object, **options: object) -> None:
        with open(DEMO_DIR / "manifest.csv", newline="") as handle:
            entries = list(csv.DictReader(handle))
        total_rows = sum(int(e["rows"]) for e in entries)
        inserted = updated = rejected = 0
        with tqdm(total=total_rows, unit="candles", desc="demo data") as bar:
            for entry in entries:
                asset = ensure_asset(symbol=entry["symbol"], name=entry["name"])
                result = import_candle_file(
                    path=DEMO_DIR / entry["file"],
                    asset=asset,
                    interval=entry["interval"],
                    source=entry["venue"],
                    on_row=lambda: bar.update(1),
                )
                inserted += result.inserted
                updated += result.updated
                rejected += result.rejected
        self.stdout.write(
            f"demo data: {len(entries)} files, {total_rows} rows read, "
            f"{inserted} inserted, {updated} updated, {rejected} rejected"
        )
