"""Import rate: `manage.py import_candles` on a large CSV vs a raw COPY of the same file.

The file: the real Coinbase BTC-USD 1h candles of data/demo (values unchanged), repeated
and re-stamped at consecutive minutes from 2020-01-01 so it is large (ROWS rows, 1m). Figures are medians of REPEATS alternating runs; `vs_raw_copy` is the
median of the per-run ratios (import rate / raw COPY rate).
Raw COPY = PostgreSQL's `COPY ... FROM STDIN (FORMAT csv)` of that file, committed, into
an empty copy of prices_candle (same primary key, unique index, OHLC check and foreign key):
the floor for getting these bytes into that table, with no validation, no upsert, no
idempotence. import_candles does all three (staging COPY, checks in SQL, INSERT ... ON
CONFLICT) in batches of 50,000, each committed on its own.
"""

import csv
import gzip
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "200000"))
REPEATS = int(os.environ.get("BENCH_IMPORT_REPEATS", "3"))
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


def import_command(path: Path, symbol: str) -> tuple[float, str]:
    from django.core.management import call_command

    out = StringIO()
    started = time.perf_counter()
    call_command("import_candles", str(path), "--symbol", symbol, "--interval", "1m",
                 "--no-progress", stdout=out)  # fmt: skip
    return time.perf_counter() - started, out.getvalue().strip()


def python_rows(path: Path, asset) -> float:  # type: ignore[no-untyped-def]
    """The same file through upsert_candles' row path (parsed and checked in Python):
    what import_candles did before its CSV fast path."""
    from prices.importing import read_candles
    from prices.services import CandleIn, upsert_candles

    started = time.perf_counter()
    rows = (r for r in read_candles(path) if isinstance(r, CandleIn))
    upsert_candles(asset=asset, interval="1m", rows=rows, source="bench")
    return time.perf_counter() - started


def main() -> dict[str, dict[str, float]]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketpulse.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from assets.models import Asset
    from marketpulse.embedded import VAR_DIR
    from prices.models import Candle

    call_command("migrate", verbosity=0)  # a fresh database has no tables yet
    path = VAR_DIR / "bench" / f"import_{ROWS}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        make_file(path, ROWS)
    Asset.objects.filter(symbol__startswith=SYMBOL).delete()
    times: dict[str, list[float]] = {"copy": [], "import": [], "again": [], "rows": []}
    ratios: list[float] = []
    try:
        # Alternating repetitions, so machine noise hits both sides alike.
        for rep in range(REPEATS):
            asset = Asset.objects.create(symbol=f"{SYMBOL}{rep}", name="bench",
                                         is_tracked=False)  # fmt: skip
            copy_s = raw_copy(path, asset.pk)
            import_s, out = import_command(path, asset.symbol)
            again_s, again_out = import_command(path, asset.symbol)
            stored = Candle.objects.filter(asset=asset).count()
            assert stored == ROWS, f"{stored} stored of {ROWS}"
            for key, value in (("copy", copy_s), ("import", import_s),
                               ("again", again_s)):  # fmt: skip
                times[key].append(value)
            ratios.append(copy_s / import_s)
            print(f"   #{rep + 1}: raw COPY {ROWS / copy_s:,.0f}/s, import_candles "
                  f"{ROWS / import_s:,.0f}/s (x{copy_s / import_s:.2f}), re-import "
                  f"{ROWS / again_s:,.0f}/s")  # fmt: skip
        print(f"   import: {out}\n   re-import: {again_out}")
        rows_asset = Asset.objects.create(
            symbol=f"{SYMBOL}R", name="b", is_tracked=False
        )
        times["rows"].append(python_rows(path, rows_asset))
        print(f"   row path (Python parsing), once: {ROWS / times['rows'][0]:,.0f}/s")
    finally:
        Asset.objects.filter(symbol__startswith=SYMBOL).delete()

    def rate(key: str) -> float:
        return ROWS / statistics.median(times[key])

    return {
        "imports.raw_copy": {"rows_per_s": rate("copy")},
        "imports.import_candles": {
            "rows_per_s": rate("import"),
            "vs_raw_copy": statistics.median(ratios),
        },
        "imports.reimport_unchanged": {"rows_per_s": rate("again")},
        "imports.python_row_path": {
            "rows_per_s": rate("rows"),
            "vs_raw_copy": rate("rows") / rate("copy"),
        },
    }
