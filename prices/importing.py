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
                yield parse_line(line)
            except ValueError:
                yield "unparsable_line"


def parse_line(line: list[str]) -> CandleIn:
    ts, o, h, low, c, v = line
    return CandleIn(
        open_time=datetime.fromisoformat(ts),
        open=float(o),
        high=float(h),
        low=float(low),
        close=float(c),
        volume=float(v),
    )


class CandleCsvFile:
    """A candle file as raw CSV lines for `upsert_candles` (its `CsvRows` fast path:
    PostgreSQL parses the lines; Python only when PostgreSQL cannot vouch for a batch)."""

    def __init__(self, path: Path, on_row: Callable[[], None] | None = None) -> None:
        self.path = path
        self.on_row = on_row

    def batches(self, size: int) -> Iterator[list[str]]:
        with open_text(self.path) as handle:
            header = next(csv.reader([handle.readline()]), None)
            if header is None or tuple(h.strip().lower() for h in header) != COLUMNS:
                raise CandleFileError(
                    f"{self.path}: expected header {','.join(COLUMNS)}"
                )
            batch: list[str] = []
            for line in handle:
                if self.on_row:
                    self.on_row()
                batch.append(line if line.endswith("\n") else line + "\n")
                if len(batch) == size:
                    yield batch
                    batch = []
            if batch:
                yield batch

    def parse(self, lines: list[str]) -> tuple[list[CandleIn], int]:
        rows: list[CandleIn] = []
        unparsable = 0
        for line in csv.reader(lines):
            try:
                rows.append(parse_line(line))
            except ValueError:
                unparsable += 1
        return rows, unparsable


def import_candle_file(
    *,
    path: Path,
    asset: Asset,
    interval: str,
    source: str,
    on_row: Callable[[], None] | None = None,
) -> Upserted:
    """Imports one file idempotently; unparsable lines are counted as rejected."""
    return upsert_candles(
        asset=asset,
        interval=interval,
        rows=CandleCsvFile(path, on_row=on_row),
        source=source,
    )
