"""The one symbol rule, and the one parser of comma-separated symbol lists."""

import re

from marketpulse.errors import InvalidInput

# Also the OpenAPI `pattern` of every symbol parameter, so schema and check agree.
SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$"
SYMBOL_RE = re.compile(SYMBOL_PATTERN)
SYMBOL_RULE = "A symbol is 1-20 letters, digits, '.', '_' or '-', starting with a letter or digit."
# A comma-separated list of such symbols (at least one).
SYMBOL_LIST_PATTERN = r"^\s*[A-Za-z0-9][A-Za-z0-9._-]{0,19}\s*(,\s*[A-Za-z0-9][A-Za-z0-9._-]{0,19}\s*)*,?\s*$"


class SymbolListError(ValueError):
    """A symbol list that cannot be read; the message says why, for people."""


def symbol_error(value: str) -> str | None:
    """Why `value` cannot be a symbol, or None when it can."""
    return None if SYMBOL_RE.match(value) else SYMBOL_RULE


def parse_symbols(text: str, *, limit: int) -> list[str]:
    """`"btc, ETH,btc"` → `["BTC", "ETH"]`: upper case, in order, without repeats;
    1 to `limit` of them, each a well-formed symbol."""
    symbols = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not symbols or len(symbols) > limit:
        raise SymbolListError(f"Give 1 to {limit} comma-separated symbols.")
    bad = [s for s in symbols if symbol_error(s)]
    if bad:
        raise SymbolListError(f"Malformed symbols: {', '.join(bad[:5])}.")
    return list(dict.fromkeys(symbols))


def clean_symbol(symbol: str) -> str:
    """Upper case, or `InvalidInput` naming `symbol` when it cannot be one."""
    if problem := symbol_error(symbol):
        raise InvalidInput(field="symbol", message=problem)
    return symbol.upper()
