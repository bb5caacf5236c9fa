"""Importing candle files (CSV or gzip CSV) through `upsert_candles`."""

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

from assets.models import Asset
from prices.candle_files import (
    COLUMNS,
    CandleFileError,
    open_text,
    parse_line,
    read_candles,
)
from prices.records import CandleIn
from prices.services import Upserted, upsert_candles

__all__ = ["CandleCsvFile", "CandleFileError", "import_candle_file", "read_candles"]


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
