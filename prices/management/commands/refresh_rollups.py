"""Rebuilds stored rollups from the 1m candles (after data was written around
`upsert_candles`, e.g. restored from a dump). Idempotent."""

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Max, Min

from prices.models import Candle
from prices.rollups import refresh_rollups


class Command(BaseCommand):
    help = "Rebuild the 1h/1d rollups of stored 1m candles (safe to run again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("symbols", nargs="*", help="Only these assets.")

    def handle(self, *args: object, symbols: list[str], **options: object) -> None:
        minutes = Candle.objects.filter(interval="1m")
        if symbols:
            minutes = minutes.filter(asset__symbol__in=[s.upper() for s in symbols])
        spans = minutes.values("asset_id", "asset__symbol").annotate(
            first=Min("open_time"), last=Max("open_time")
        )
        for span in spans:
            refresh_rollups(
                asset_id=span["asset_id"], start=span["first"], end=span["last"]
            )
            self.stdout.write(
                f"{span['asset__symbol']}: rollups rebuilt {span['first']:%Y-%m-%d} .. "
                f"{span['last']:%Y-%m-%d}"
            )
