"""Reading candle files (CSV or gzip CSV) into `CandleIn` rows: no database, no writes,
so providers (the replay provider) can read them too."""

import csv
import gzip
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from prices.records import CandleIn

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
