"""`manage.py backfill BTC --interval 1h --start … --end … [--provider …]`.

Fetches only the missing candles (the gaps), in chunks a provider answers in one call,
each chunk committed on its own: run it again after an interruption and it resumes at
what is still missing.
"""

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from assets.models import Asset
from prices.ingest import sync
from prices.ingest.providers import NAMES, get_provider, provider_names
from prices.intervals import Interval, parse_time
from prices.models import SyncJob, SyncRun


def moment(text: str) -> datetime:
    """argparse type: a time, UTC unless it names a zone."""
    return parse_time(text, assume_utc=True)


class Command(BaseCommand):
    help = "Fill missing candles of one asset and interval from the providers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("symbol")
        parser.add_argument("--interval", required=True, choices=Interval.values)
        parser.add_argument("--start", required=True, type=moment)
        parser.add_argument("--end", required=True, type=moment)
        parser.add_argument("--provider", choices=NAMES,
                            help="Only this provider (default: the configured order).")  # fmt: skip
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        symbol = options["symbol"].upper()
        if not Asset.objects.filter(symbol=symbol).exists():
            raise CommandError(f"unknown asset {symbol}")
        if options["start"] >= options["end"]:
            raise CommandError("--end must be after --start")
        names = [options["provider"]] if options["provider"] else provider_names()
        run = SyncRun.objects.create(
            job=SyncJob.BACKFILL,
            params={"symbol": symbol, "interval": options["interval"],
                    "start": options["start"].isoformat(),
                    "end": options["end"].isoformat()},
        )  # fmt: skip
        bar = tqdm(unit=" candles", desc=f"{symbol} {options['interval']}",
                   disable=options["no_progress"])  # fmt: skip

        def on_chunk(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            run = sync.run_sync(
                run_id=run.pk,
                providers=[get_provider(n) for n in names],
                progress=on_chunk,
            )
        finally:
            bar.close()
        self.stdout.write(
            f"backfill #{run.pk} {run.status}: {run.details.get('missing_before', 0)} "
            f"missing before, {run.details.get('missing_after', '?')} after; "
            f"{run.inserted} inserted, {run.updated} updated, {run.rejected} rejected "
            f"(provider {run.provider or '-'}{', fallback' if run.fallback_used else ''})"
        )
        if run.error:
            self.stdout.write(f"  {run.error}")
        if run.status != SyncRun.Status.SUCCEEDED:
            raise CommandError(f"backfill {run.status}")
