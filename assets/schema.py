"""The OpenAPI description of a symbol in a path, from the one symbol rule."""

from drf_spectacular.utils import OpenApiParameter

from assets.symbols import SYMBOL_PATTERN, SYMBOL_RULE

SYMBOL_PARAMETER = OpenApiParameter(
    "symbol",
    str,
    OpenApiParameter.PATH,
    pattern=SYMBOL_PATTERN,
    description=SYMBOL_RULE + " Case-insensitive.",
)
