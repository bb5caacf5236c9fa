"""Import rate: `manage.py import_candles` on a large CSV vs a raw COPY of the same file.

The file: the real Coinbase BTC-USD 1h candles of data/demo (values unchanged), repeated
and re-stamped at consecutive minutes from 2020-01-01 so it is large (ROWS rows, 1m).
Raw COPY = PostgreSQL's `COPY ... FROM STDIN (FORMAT csv)` of that file, committed, into
an empty copy of prices_candle (same primary key, unique index, OHLC check and foreign key):
the floor for getting these bytes into that table, with no validation, no upsert, no
idempotence. import_candles does all three (staging COPY, checks in SQL, INSERT ... ON
CONFLICT) in batches of 50,000, each committed on its own.
"""

import csv
import gzip
import os
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "300000"))
SYMBOL = "BENCHIMPORT"


def make_file(path: Path, rows: int) -> None:
    from django.conf import settings

    source = Path(settings.BASE_DIR) / "data" / "demo" / "coinbase_BTC-USD_1h.csv.gz"
    with gzip.open(source, "rt", newline="") as handle:
        values = [r[1:] for r in list(csv.reader(handle))[1:]]
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with open(path, "w", newline="") as out:
        out.write("timestamp,open,high,low,close,volume\n")
        for i in range(rows):
            stamp = (start + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            out.write(stamp + "," + ",".join(values[i % len(values)]) + "\n")


def raw_copy(path: Path, asset_id: int) -> float:
    """Seconds to COPY the file and commit (the same durability as an import)."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_candles")
        cursor.execute(
            "CREATE TABLE bench_raw_candles (LIKE prices_candle INCLUDING ALL)"
        )
        cursor.execute(
            "ALTER TABLE bench_raw_candles "
            f"ALTER COLUMN asset_id SET DEFAULT {int(asset_id)}, "
            "ALTER COLUMN interval SET DEFAULT '1m', ALTER COLUMN source SET DEFAULT 'b', "
            "ADD FOREIGN KEY (asset_id) REFERENCES assets_asset (id)"
        )
    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.copy(
            "COPY bench_raw_candles (open_time, open, high, low, close, volume) "
            "FROM STDIN (FORMAT csv, HEADER true)"
        ) as copy,
        open(path, "rb") as handle,
    ):
        while chunk := handle.read(1 << 20):
            copy.write(chunk)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_raw_candles")
    return elapsed


def import_command(path: Path) -> tuple[float, str]:
    from django.core.management import call_command

    out = StringIO()
    started = time.perf_counter()
    call_command("import_candles", str(path), "--symbol", SYMBOL, "--interval", "1m",
                 "--no-progress", stdout=out)  # fmt: skip
    return time.perf_counter() - started, out.getvalue().strip()


def main() -> dict[str, dict[str, float]]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketpulse.settings")
    import django

    django.setup()
    from assets.models import Asset
    from marketpulse.embedded import VAR_DIR
    from prices.models import Candle

    path = VAR_DIR / "bench" / f"import_{ROWS}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        make_file(path, ROWS)
    Asset.objects.filter(symbol=SYMBOL).delete()
    asset = Asset.objects.create(symbol=SYMBOL, name="bench import", is_tracked=False)
    try:
        copy_s = raw_copy(path, asset.pk)
        first_s, first_out = import_command(path)
        again_s, again_out = import_command(path)
        stored = Candle.objects.filter(asset=asset).count()
    finally:
        Asset.objects.filter(pk=asset.pk).delete()
    print(f"   raw COPY {ROWS} rows: {copy_s:.2f}s ({ROWS / copy_s:,.0f}/s)")
    print(f"   import_candles: {first_s:.2f}s ({ROWS / first_s:,.0f}/s) -> {first_out}")
    print(f"   re-import: {again_s:.2f}s ({ROWS / again_s:,.0f}/s) -> {again_out}")
    assert stored == ROWS, f"{stored} stored of {ROWS}"
    return {
        "imports.raw_copy": {"rows_per_s": ROWS / copy_s, "seconds": copy_s},
        "imports.import_candles": {
            "rows_per_s": ROWS / first_s,
            "seconds": first_s,
            "vs_raw_copy": copy_s / first_s,
        },
        "imports.reimport_unchanged": {
            "rows_per_s": ROWS / again_s,
            "seconds": again_s,
        },
    }
