"""`manage.py import_candles FILE --symbol BTC --interval 1h`: idempotent bulk import."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from assets.models import Asset
from prices.importing import CandleFileError, import_candle_file
from prices.intervals import Interval


class Command(BaseCommand):
    help = (
        "Import candles from a CSV or gzip CSV (timestamp,open,high,low,close,volume; "
        "timestamp = open time, ISO 8601 UTC). Re-importing changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--symbol", required=True)
        parser.add_argument("--interval", required=True, choices=Interval.values)
        parser.add_argument(
            "--source", default="import", help="Stored with each candle."
        )
        parser.add_argument("--name", help="Creates the asset when it is new.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        symbol = options["symbol"].upper()
        asset = Asset.objects.filter(symbol=symbol).first()
        if asset is None:
            if not options["name"]:
                raise CommandError(f"unknown asset {symbol}; pass --name to create it")
            asset = Asset.objects.create(symbol=symbol, name=options["name"])
        with tqdm(unit=" rows", desc=path.name, disable=options["no_progress"],
                  mininterval=0.5) as bar:  # fmt: skip
            counter = [0]

            def tick() -> None:
                counter[0] += 1
                if counter[0] % 10_000 == 0:
                    bar.update(10_000)

            try:
                result = import_candle_file(path=path, asset=asset,
                                            interval=options["interval"],
                                            source=options["source"], on_row=tick)  # fmt: skip
            except CandleFileError as exc:
                raise CommandError(str(exc)) from exc
            bar.update(counter[0] % 10_000)
        self.stdout.write(
            f"{path.name}: {result.received} rows read, {result.inserted} inserted, "
            f"{result.updated} updated, {result.unchanged} unchanged, "
            f"{result.duplicate} duplicate, {result.rejected} rejected"
        )
        for reason, count in sorted(result.reasons.items()):
            self.stdout.write(f"  rejected {count}: {reason}")
