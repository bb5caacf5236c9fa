"""The one symbol rule, and the one parser of comma-separated symbol lists.

The patterns here are also the OpenAPI `pattern` of every symbol parameter, so what the
schema allows is exactly what the checks below accept.
"""

import re

from marketpulse.errors import InvalidInput

_SYMBOL = r"[A-Za-z0-9][A-Za-z0-9._-]{0,19}"
SYMBOL_PATTERN = rf"^{_SYMBOL}$"
SYMBOL_RE = re.compile(SYMBOL_PATTERN)
SYMBOL_RULE = "A symbol is 1-20 letters, digits, '.', '_' or '-', starting with a letter or digit."


class SymbolListError(ValueError):
    """A symbol list that cannot be read; the message says why, for people."""


def symbol_list_pattern(limit: int) -> str:
    """1 to `limit` symbols separated by commas, with spaces around them allowed and one
    trailing comma tolerated: `btc, ETH,`."""
    return rf"^ *{_SYMBOL} *(, *{_SYMBOL} *){{0,{limit - 1}}},? *$"


def symbol_error(value: str) -> str | None:
    """Why `value` cannot be a symbol, or None when it can."""
    return None if SYMBOL_RE.fullmatch(value) else SYMBOL_RULE


def parse_symbols(text: str, *, limit: int) -> list[str]:
    """`"btc, ETH,btc"` → `["BTC", "ETH"]`: upper case, in order, without repeats;
    1 to `limit` of them, each a well-formed symbol (`symbol_list_pattern(limit)`)."""
    pieces = [piece.strip(" ") for piece in text.split(",")]
    if len(pieces) > 1 and not pieces[-1]:
        pieces.pop()  # the one trailing comma
    if not re.fullmatch(symbol_list_pattern(limit), text):
        bad = [s for s in pieces if s and symbol_error(s)]
        if bad:
            raise SymbolListError(f"Malformed symbols: {', '.join(bad[:5])}.")
        raise SymbolListError(
            f"Give 1 to {limit} comma-separated symbols, without empty ones."
        )
    return list(dict.fromkeys(s.upper() for s in pieces))


def clean_symbol(symbol: str) -> str:
    """Upper case, or `InvalidInput` naming `symbol` when it cannot be one."""
    if problem := symbol_error(symbol):
        raise InvalidInput(field="symbol", message=problem)
    return symbol.upper()
