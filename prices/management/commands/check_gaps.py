"""`manage.py check_gaps [SYMBOL ...] --interval 1h [--start … --end …]`: lists and records
missing candles (shown in the admin under Candle gaps; `backfill` fills them)."""

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Max, Min

from assets.models import Asset
from prices.gaps import record_gaps
from prices.intervals import Interval, next_open, parse_time
from prices.models import Candle


def moment(text: str) -> datetime:
    """argparse type: a time, UTC unless it names a zone."""
    return parse_time(text, assume_utc=True)


class Command(BaseCommand):
    help = (
        "Find missing candles per asset and interval (default: between the first and "
        "last stored candle) and record them for the admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "symbols", nargs="*", help="Default: every asset with candles."
        )
        parser.add_argument("--interval", required=True, choices=Interval.values)
        parser.add_argument("--start", type=moment)
        parser.add_argument("--end", type=moment, help="Exclusive.")

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options["interval"]
        candles = Candle.objects.filter(interval=interval)
        if options["symbols"]:
            symbols = [s.upper() for s in options["symbols"]]
            unknown = set(symbols) - set(
                Asset.objects.filter(symbol__in=symbols).values_list(
                    "symbol", flat=True
                )
            )
            if unknown:
                raise CommandError(f"unknown asset(s): {', '.join(sorted(unknown))}")
            candles = candles.filter(asset__symbol__in=symbols)
        spans = candles.values("asset").annotate(
            first=Min("open_time"), last=Max("open_time")
        )
        total = 0
        for span in spans.order_by("asset__symbol"):
            asset = Asset.objects.get(pk=span["asset"])
            start = options["start"] or span["first"]
            end = options["end"] or next_open(span["last"], interval)
            gaps = record_gaps(asset=asset, interval=interval, start=start, end=end)
            missing = sum(g.missing for g in gaps)
            total += missing
            self.stdout.write(
                f"{asset.symbol} {interval}: {len(gaps)} gaps, {missing} missing"
            )
            for gap in gaps[:20]:
                self.stdout.write(f"  {gap.start.isoformat()} .. {gap.end.isoformat()}"
                                  f"  ({gap.missing})")  # fmt: skip
            if len(gaps) > 20:
                self.stdout.write(f"  … {len(gaps) - 20} more (see the admin)")
        self.stdout.write(f"{total} missing candles in all")
