"""Reading candle files (CSV or gzip CSV) into `CandleIn` rows for `upsert_candles`."""

import csv
import gzip
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from assets.models import Asset
from prices.services import CandleIn, Upserted, upsert_candles

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")


class CandleFileError(ValueError):
    pass


def open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def read_candles(
    path: Path, *, on_row: Callable[[], None] | None = None
) -> Iterator[CandleIn | str]:
    """Yields a `CandleIn` per good line, or the reason a line could not be parsed."""
    with open_text(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(h.strip().lower() for h in header) != COLUMNS:
            raise CandleFileError(f"{path}: expected header {','.join(COLUMNS)}")
        for line in reader:
            if on_row:
                on_row()
            try:
                ts, o, h, low, c, v = line
                yield CandleIn(
                    open_time=datetime.fromisoformat(ts),
                    open=float(o),
                    high=float(h),
                    low=float(low),
                    close=float(c),
                    volume=float(v),
                )
            except ValueError:
                yield "unparsable_line"


def import_candle_file(
    *,
    path: Path,
    asset: Asset,
    interval: str,
    source: str,
    on_row: Callable[[], None] | None = None,
) -> Upserted:
    """Imports one file idempotently; unparsable lines are counted as rejected."""
    unparsable = 0

    def good_rows() -> Iterator[CandleIn]:
        nonlocal unparsable
        for item in read_candles(path, on_row=on_row):
            if isinstance(item, str):
                unparsable += 1
            else:
                yield item

    result = upsert_candles(
        asset=asset, interval=interval, rows=good_rows(), source=source
    )
    if unparsable:
        result.received += unparsable
        result.rejected += unparsable
        result.reasons["unparsable_line"] += unparsable
    return result
