"""The sync pipeline: provider → normalise + validate → upsert → Redis → channel layer.

Every run is a `SyncRun` row (what was asked, who served it, what was written). Runs of
the same job hold a PostgreSQL advisory lock, so two overlapping runs never both write;
the loser is recorded as skipped. Candles go only through `upsert_candles`, latest prices
only through `record_latest_prices`.
"""

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from analytics.alerts import evaluate
from analytics.report import record_market_report
from assets.models import Asset
from assets.selectors import tracked_by_rank
from assets.services import upsert_listings
from prices.gaps import find_gaps, record_gaps
from prices.ingest import metrics
from prices.ingest.providers import (
    Fetched,
    NotSupported,
    Provider,
    ProviderError,
    get_provider,
    provider_names,
)
from prices.intervals import DURATIONS, floor_time
from prices.latest import record_latest_prices
from prices.models import Candle, SyncJob, SyncRun
from prices.realtime.broadcast import publish_price
from prices.records import CandleIn
from prices.services import Upserted, upsert_candles

logger = logging.getLogger(__name__)
Progress = Callable[[int, int], None]  # (done, total)


class AllProvidersFailed(ProviderError):
    pass


@contextlib.contextmanager
def job_lock(key: str) -> Iterator[bool]:
    """A session-level advisory lock: held while the block runs, gone if the process
    dies (the connection closes). Yields whether this caller got it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key]
                )


def lock_key(job: str, params: dict[str, Any]) -> str:
    if job == SyncJob.BACKFILL:  # backfills of different series may run side by side
        return f"sync:backfill:{params.get('symbol')}:{params.get('interval')}"
    return f"sync:{job}"


def run_sync(
    *,
    run_id: int,
    providers: list[Provider] | None = None,
    progress: Progress | None = None,
) -> SyncRun:
    """Runs one queued run to its end; safe to call twice (upserts, and the lock)."""
    run = SyncRun.objects.get(pk=run_id)
    if run.status not in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING):
        return run  # a redelivered message for a finished run
    with job_lock(lock_key(run.job, run.params)) as acquired:
        if not acquired:
            _finish(
                run,
                SyncRun.Status.SKIPPED,
                error="another run of this job holds the lock",
            )
            return run
        run.status, run.started_at = SyncRun.Status.RUNNING, datetime.now(UTC)
        run.save(update_fields=["status", "started_at"])
        fail_abandoned_runs(run)
        chain = (
            providers
            if providers is not None
            else [get_provider(n) for n in provider_names()]
        )
        try:
            JOBS[run.job](run, chain, progress)
        except Exception as exc:
            logger.exception("sync failed", extra={"run": run.pk, "job": run.job})
            _finish(run, SyncRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
            return run
        _finish(run, SyncRun.Status.SUCCEEDED)
    return run


def fail_abandoned_runs(holder: SyncRun) -> list[int]:
    """Marks failed the runs of `holder`'s lock still shown as running: the lock is gone
    with its session, so their worker died (killed, out of memory, machine lost) before
    it could record an end. Returns their ids."""
    key = lock_key(holder.job, holder.params)
    abandoned = [
        run.pk
        for run in SyncRun.objects.filter(
            job=holder.job, status=SyncRun.Status.RUNNING
        ).exclude(pk=holder.pk)
        if lock_key(run.job, run.params) == key
    ]
    if abandoned:
        logger.warning("sync runs abandoned by a dead worker: %s", abandoned)
        SyncRun.objects.filter(pk__in=abandoned).update(
            status=SyncRun.Status.FAILED,
            finished_at=datetime.now(UTC),
            error=f"abandoned: its worker stopped before the run ended "
            f"(found by run #{holder.pk})",
        )
    return abandoned


def _finish(run: SyncRun, status: str, error: str = "") -> None:
    run.status, run.finished_at = status, datetime.now(UTC)
    if error:
        run.error = (run.error + "\n" + error).strip()
    run.save()
    # Counted once per run, from its record: what the metrics say is what the run says.
    metrics.sync_runs.labels(run.job, run.provider or "none", status).inc()
    if run.inserted or run.updated:
        metrics.candles_written.labels(run.job).inc(run.inserted + run.updated)
    for reason, count in (run.rejected_reasons or {}).items():
        metrics.candles_rejected.labels(run.job, reason).inc(count)


def _first_serving[T](
    run: SyncRun, chain: list[Provider], fetch: Callable[[Provider], T]
) -> tuple[Provider, T]:
    """The first provider in `chain` that serves `fetch`; the others' errors go on the run."""
    errors: list[str] = []
    for index, provider in enumerate(chain):
        if provider.name not in run.providers_tried:
            run.providers_tried.append(provider.name)
        try:
            result = fetch(provider)
        except ProviderError as exc:
            if not isinstance(exc, NotSupported):
                logger.warning("provider failed", extra={"provider": provider.name,
                                                          "error": str(exc)})  # fmt: skip
            errors.append(f"{provider.name}: {exc}")
            continue
        if index > 0:
            run.fallback_used = True
        if not run.provider:
            run.provider = provider.name
        if errors:
            run.error = (run.error + "\n" + "\n".join(errors)).strip()
        return provider, result
    raise AllProvidersFailed("; ".join(errors) or "no provider configured")


def _count_rejected(run: SyncRun, reasons: Counter[str]) -> None:
    merged = Counter(run.rejected_reasons) + reasons
    run.rejected_reasons = dict(merged)
    run.rejected = sum(merged.values())


def _add_upserted(run: SyncRun, result: Upserted) -> None:
    run.inserted += result.inserted
    run.updated += result.updated
    _count_rejected(run, result.reasons)


# --- Jobs ---------------------------------------------------------------------------


def sync_prices(
    run: SyncRun, chain: list[Provider], progress: Progress | None = None
) -> None:
    """Listings (or, from providers without them, tickers) → assets, latest prices."""
    limit = int(run.params.get("limit", 50))

    def fetch(provider: Provider) -> Any:
        try:
            return "listings", provider.listings(limit=limit)
        except NotSupported:
            return "prices", provider.latest_prices(assets=tracked_by_rank(limit=limit))

    provider, (kind, fetched) = _first_serving(run, chain, fetch)
    _count_rejected(run, fetched.rejected)
    if kind == "listings":
        with transaction.atomic():
            pairs, created, refused = upsert_listings(listings=fetched.records)
        _count_rejected(run, refused)
        run.inserted += created
        # Where the listing figures come from (the market overview shows it).
        sources = getattr(provider, "figure_sources", None)
        newest = max((i.as_of for i in fetched.records), default=None)
        run.details["listing_figures"] = {
            "provider": provider.name,
            "as_of": newest.isoformat() if newest else None,
            "sources": sources() if sources else {},
        }
        rows = [(a, item.price, item.as_of, provider.name) for a, item in pairs]
    else:
        assets = {a.symbol: a for a in Asset.objects.filter(
            symbol__in=[p.symbol for p in fetched.records])}  # fmt: skip
        unknown = Counter(
            "unknown_asset" for p in fetched.records if p.symbol not in assets
        )
        _count_rejected(run, unknown)
        rows = [(assets[p.symbol], p.price, p.as_of, provider.name)
                for p in fetched.records if p.symbol in assets]  # fmt: skip
    cross_check(rows, served_by=provider.name)
    # A price we already hold (same value, same time) is neither rewritten nor republished.
    changed = [r for r in rows if (r[0].price, r[0].price_as_of) != (r[1], r[2])]
    fresh = record_latest_prices(changed)
    run.updated += int(fresh)
    run.details["stale_prices"] = len(rows) - int(fresh)
    run.details["published"] = publish_all(fresh.prices)
    try:
        run.details["alerts_fired"] = len(evaluate.check_prices(fresh.prices))
    except DatabaseError as error:
        # The prices are stored and published; the run says the alerts were not checked.
        logger.exception("alert evaluation failed")
        run.details["alerts_error"] = str(error)[:300]


def cross_check(rows: list[Any], *, served_by: str) -> None:
    """New prices replacing another provider's still-fresh one (a fallback, or two
    providers taking turns) go to settings.PRICE_CROSS_CHECK_TASK after commit, by
    name: analytics records the pairs that disagree."""
    max_age = timedelta(seconds=settings.ANOMALY_DISAGREEMENT_MAX_AGE)
    pairs = [
        {"asset_id": a.pk, "symbol": a.symbol, "price": price,
         "as_of": as_of.isoformat(), "source": served_by, "other_price": a.price,
         "other_as_of": a.price_as_of.isoformat(), "other_source": a.price_source}
        for a, price, as_of, _ in rows
        if a.price is not None and a.price_as_of is not None
        and a.price_source not in ("", served_by)
        and abs(as_of - a.price_as_of) <= max_age
    ]  # fmt: skip
    name = settings.PRICE_CROSS_CHECK_TASK
    if pairs and name:
        from celery import current_app

        transaction.on_commit(lambda: current_app.send_task(name, args=[pairs]))


def publish_all(prices: list[Any]) -> int:
    """Publishes each fresh price; returns how many reached Redis. An outage is logged
    by `publish_price`, never fatal: the price is already stored in PostgreSQL."""
    return sum(publish_price(price) is not None for price in prices)


def _candles(
    provider: Provider, *, asset: Asset, interval: str, start: datetime, end: datetime
) -> Fetched[CandleIn]:
    return provider.candles(asset=asset, interval=interval, start=start, end=end)


def sync_candles(
    run: SyncRun, chain: list[Provider], progress: Progress | None = None
) -> None:
    """Recent candles of the top N tracked assets, then their gaps in that window."""
    limit = int(run.params.get("limit", 200))
    interval = run.params.get("interval", "1h")
    hours = int(run.params.get("hours", 24))
    end = datetime.now(UTC)
    start = floor_time(end - timedelta(hours=hours), interval)
    outcome: dict[str, str] = {}
    for asset in tracked_by_rank(limit=limit):
        try:
            provider, fetched = _first_serving(
                run, chain, partial(_candles, asset=asset, interval=interval,
                                    start=start, end=end),
            )  # fmt: skip
        except AllProvidersFailed:
            outcome[asset.symbol] = "no provider"
            continue
        _count_rejected(run, fetched.rejected)
        _add_upserted(run, upsert_candles(asset=asset, interval=interval,
                                          rows=fetched.records, source=provider.name))  # fmt: skip
        gaps = record_gaps(asset=asset, interval=interval, start=start,
                           end=floor_time(end, interval))  # fmt: skip
        outcome[asset.symbol] = (
            f"{provider.name}, {sum(g.missing for g in gaps)} missing"
        )
    run.details["assets"] = outcome
    if outcome and all(v == "no provider" for v in outcome.values()):
        raise AllProvidersFailed("no provider served any asset")


def backfill(
    run: SyncRun,
    chain: list[Provider],
    progress: Progress | None = None,
) -> None:
    """Fills the missing candles of one series in chunks; each chunk commits on its own,
    so an interrupted backfill resumes at the gaps that are left."""
    asset = Asset.objects.get(symbol=run.params["symbol"].upper())
    interval = run.params["interval"]
    start = datetime.fromisoformat(run.params["start"])
    end = min(datetime.fromisoformat(run.params["end"]), datetime.now(UTC))
    gaps = find_gaps(asset=asset, interval=interval, start=start, end=end)
    total = sum(g.missing for g in gaps)
    done = 0
    for gap in gaps:
        for chunk_start, chunk_end in _chunks(gap.start, gap.end, interval, chain):
            provider, fetched = _first_serving(
                run, chain, partial(_candles, asset=asset, interval=interval,
                                    start=chunk_start, end=chunk_end),
            )  # fmt: skip
            _count_rejected(run, fetched.rejected)
            _add_upserted(run, upsert_candles(asset=asset, interval=interval,
                                              rows=fetched.records, source=provider.name))  # fmt: skip
            run.save(update_fields=["inserted", "updated", "rejected",
                                    "rejected_reasons", "provider", "providers_tried",
                                    "fallback_used", "error"])  # fmt: skip
            done += len(fetched.records)
            if progress:
                progress(done, total)
    left = record_gaps(asset=asset, interval=interval, start=start, end=end)
    run.details.update(missing_before=total, missing_after=sum(g.missing for g in left))


def _chunks(
    start: datetime, end: datetime, interval: str, chain: list[Provider]
) -> Iterator[tuple[datetime, datetime]]:
    size = min((p.max_candles_per_call for p in chain), default=1000)
    step = DURATIONS.get(interval, timedelta(days=31)) * size
    while start < end:
        yield start, min(end, start + step)
        start += step


def cleanup(
    run: SyncRun, chain: list[Provider], progress: Progress | None = None
) -> None:
    """Deletes fine candles older than the retention (coarse intervals stay) and
    finished sync runs older than theirs."""
    now = datetime.now(UTC)
    runs_cutoff = now - timedelta(days=settings.SYNC_RUN_RETENTION_DAYS)
    run.details["sync_runs_deleted"], _ = (
        SyncRun.objects.filter(finished_at__lt=runs_cutoff).exclude(pk=run.pk).delete()
    )
    days = int(run.params.get("days", settings.CANDLE_RETENTION_DAYS))
    if days <= 0:
        run.details["deleted"] = 0
        run.details["note"] = "candle retention off (CANDLE_RETENTION_DAYS=0)"
        return
    cutoff = now - timedelta(days=days)
    deleted, _ = Candle.objects.filter(
        interval__in=settings.CANDLE_RETENTION_INTERVALS, open_time__lt=cutoff
    ).delete()
    run.details.update(deleted=deleted, cutoff=cutoff.isoformat())


def market_report(
    run: SyncRun, chain: list[Provider], progress: Progress | None = None
) -> None:
    """Today's (or `params["day"]`'s) market summary, kept by analytics."""
    day = date.fromisoformat(run.params["day"]) if "day" in run.params else (
        datetime.now(UTC).date())  # fmt: skip
    record_market_report(day=day)
    run.inserted = 1
    run.details["day"] = day.isoformat()


JOBS: dict[str, Callable[[SyncRun, list[Provider], Progress | None], None]] = {
    SyncJob.PRICES: sync_prices,
    SyncJob.CANDLES: sync_candles,
    SyncJob.BACKFILL: backfill,
    SyncJob.CLEANUP: cleanup,
    SyncJob.REPORT: market_report,
}
