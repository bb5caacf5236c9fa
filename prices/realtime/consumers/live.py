"""Live streams: `/ws/prices/` (prices and forming candles) and `/ws/alerts/`."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
from django.conf import settings

from assets.models import Asset
from marketpulse.wsdb import Gate
from prices.latest import LatestPrice, latest_prices
from prices.realtime.broadcast import (
    KLINE_INTERVALS,
    alert_group,
    forming_candles,
    kline_group,
    price_frame,
    price_group,
)
from prices.realtime.consumers.base import (
    MAX_SYMBOL_LENGTH,
    BadInput,
    StreamConsumer,
    error_message,
)
from prices.realtime.fanout import hub


def clean_symbols(value: Any) -> list[str]:
    if (
        not isinstance(value, list)
        or not value
        or not all(
            isinstance(s, str) and 0 < len(s.strip()) <= MAX_SYMBOL_LENGTH
            for s in value
        )
    ):
        raise BadInput(
            "invalid_symbols",
            '"symbols" must be a non-empty list of symbols, e.g. ["BTC", "ETH"].',
        )
    return list(dict.fromkeys(s.strip().upper() for s in value))


def known_symbols(symbols: list[str]) -> set[str]:
    return set(
        Asset.objects.filter(symbol__in=symbols).values_list("symbol", flat=True)
    )


def latest_of(symbols: list[str]) -> list[LatestPrice]:
    return latest_prices(symbols)[0]


STREAMS = ("price", *(f"kline_{interval}" for interval in KLINE_INTERVALS))


def clean_streams(value: Any) -> list[str]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(s, str) and s in STREAMS for s in value)
    ):
        raise BadInput(
            "unknown_stream",
            f'"streams" must be a non-empty list of: {", ".join(STREAMS)}.',
            details={"streams": value},
        )
    return list(dict.fromkeys(value))


def stream_group(stream: str, symbol: str) -> str:
    if stream == "price":
        return price_group(symbol)
    return kline_group(stream.removeprefix("kline_"), symbol)


def stream_of(group: str) -> tuple[str, str]:
    """(stream, symbol) of a group name made by `stream_group`."""
    kind, _, rest = group.partition(".")
    if kind == "prices":
        return "price", rest
    interval, _, symbol = rest.partition(".")
    return f"kline_{interval}", symbol


async def snapshots_of(pairs: list[tuple[str, str]], *, db: Gate) -> dict[str, str]:
    """The current frame of each (stream, symbol) that has one, by group."""
    frames: dict[str, str] = {}
    prices = [symbol for stream, symbol in pairs if stream == "price"]
    if prices:
        for price in await db.run(latest_of, prices):
            frames[price_group(price["symbol"])] = price_frame(price).decode()
    for stream in dict.fromkeys(s for s, _ in pairs if s != "price"):
        interval = stream.removeprefix("kline_")
        symbols = [symbol for s, symbol in pairs if s == stream]
        candles = await db.run(forming_candles, interval=interval, symbols=symbols)
        for symbol, frame in candles.items():
            frames[kline_group(interval, symbol)] = frame
    return frames


def is_newer(frame: str, than: str) -> bool:
    as_of, than_as_of = orjson.loads(frame)["as_of"], orjson.loads(than)["as_of"]
    return datetime.fromisoformat(as_of) > datetime.fromisoformat(than_as_of)


class PriceStreamConsumer(StreamConsumer):
    """`/ws/prices/` and `/ws/prices/<symbol>/`: the latest price of each subscribed
    symbol at once, then every update, in order per symbol."""

    actions = ("subscribe", "unsubscribe", "list")

    async def connect(self) -> None:
        # Frames published while a snapshot is read wait here, then go out if newer.
        self.held: dict[str, list[dict[str, str]]] = {}
        self.push_json({"type": "hello", "protocol": "marketpulse.prices.v1"})
        await hub.start()
        if not hub.live:
            self.feed_status(False)
        symbol = self.scope["url_route"]["kwargs"].get("symbol")
        if symbol:
            try:
                await self.subscribe(
                    [symbol.upper()], streams=["price"], request_id=None
                )
            except BadInput as bad:
                # A one-symbol stream of an unknown symbol is no stream at all.
                bad.fatal = True
                raise

    def deliver(self, group: str, message: dict[str, str]) -> None:
        held = self.held.get(group)
        if held is not None:
            held.append(message)
        else:
            self.push(message)

    def feed_status(self, live: bool) -> None:
        super().feed_status(live)
        if live and self.groups_joined:
            # Updates published while the feed was down are lost to us: resend latest.
            pairs = [stream_of(g) for g in sorted(self.groups_joined)]
            self.in_background(self.send_latest(pairs))

    async def send_latest(self, pairs: list[tuple[str, str]]) -> None:
        """Sends the latest price / forming candle of each (stream, symbol), then what was
        published for it meanwhile, if newer."""
        groups = [stream_group(*pair) for pair in pairs]
        for group in groups:
            self.held.setdefault(group, [])
        try:
            snapshots = await snapshots_of(pairs, db=self.db)
        finally:
            held = {g: self.held.pop(g, []) for g in groups}
        for group in groups:
            snapshot = snapshots.get(group)
            if snapshot is not None:
                self.push(snapshot)
            for message in held[group]:
                if snapshot is None or is_newer(message["text"], snapshot):
                    self.push(message)

    async def subscribe(
        self, symbols: list[str], *, streams: list[str], request_id: Any
    ) -> None:
        pairs = [(stream, symbol) for symbol in symbols for stream in streams]
        new = [p for p in pairs if stream_group(*p) not in self.groups_joined]
        limit = settings.WS_MAX_SUBSCRIPTIONS
        if len(self.groups_joined) + len(new) > limit:
            raise BadInput(
                "too_many_symbols",
                f"At most {limit} subscriptions (symbol and stream) per connection.",
                details={"limit": limit, "subscribed": len(self.groups_joined)},
            )
        new_symbols = list(dict.fromkeys(symbol for _, symbol in new))
        unknown = sorted(
            set(new_symbols) - await self.db.run(known_symbols, new_symbols)
        )
        if unknown:
            raise BadInput(
                "unknown_symbol",
                f"Unknown symbol(s): {', '.join(unknown)}.",
                details={"symbols": unknown},
            )
        for pair in new:
            self.held[stream_group(*pair)] = []
            self.join(stream_group(*pair))
        self.push_json(
            {
                "type": "subscribed",
                "id": request_id,
                "symbols": symbols,
                "streams": streams,
            }
        )
        await self.send_latest(new)

    async def do_subscribe(self, message: dict[str, Any]) -> None:
        await self.subscribe(
            clean_symbols(message.get("symbols")),
            streams=clean_streams(message.get("streams", ["price"])),
            request_id=message.get("id"),
        )

    async def do_unsubscribe(self, message: dict[str, Any]) -> None:
        symbols = clean_symbols(message.get("symbols"))
        streams = clean_streams(message.get("streams", ["price"]))
        for symbol in symbols:
            for stream in streams:
                self.leave(stream_group(stream, symbol))
        self.push_json(
            {
                "type": "unsubscribed",
                "id": message.get("id"),
                "symbols": symbols,
                "streams": streams,
            }
        )

    async def do_list(self, message: dict[str, Any]) -> None:
        by_stream: dict[str, list[str]] = {}
        for stream, symbol in sorted(stream_of(g) for g in self.groups_joined):
            by_stream.setdefault(stream, []).append(symbol)
        self.push_json(
            {
                "type": "subscriptions",
                "id": message.get("id"),
                "symbols": by_stream.get("price", []),
                "streams": by_stream,
            }
        )


# Close code of a connection whose access token ran out: in the application range, read
# as HTTP's 401 (refresh the token, then reconnect), where 1008 says "do not retry that".
TOKEN_EXPIRED = 4401


class AlertStreamConsumer(StreamConsumer):
    """`/ws/alerts/`: the signed-in user's alert events (session or JWT), nobody else's.

    A connection opened with an access token closes when the token expires (error
    `token_expired`, close 4401): a token's lifetime is what its holder was granted, and
    a long-lived socket must not outlast it. A session-cookie connection stays open: the
    session was checked when it opened, and a browser page reconnects (and so is checked
    again) on every load.
    """

    stream = "alerts"

    async def connect(self) -> None:
        user = self.scope.get("user")
        if self.scope.get("auth_error"):
            raise BadInput("invalid_token", self.scope["auth_error"], fatal=True)
        if user is None or not user.is_authenticated:
            raise BadInput(
                "not_authenticated",
                "Sign in (session) or pass an access token (?token= or "
                "Authorization: Bearer).",
                fatal=True,
            )
        expires: datetime | None = self.scope.get("auth_expires")
        if expires is not None:
            self.in_background(self._expire_at(expires))
        await hub.start()
        self.join(alert_group(user.pk))
        self.push_json({"type": "subscribed", "stream": "alerts"})
        if not hub.live:
            self.feed_status(False)

    async def _expire_at(self, expires: datetime) -> None:
        await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()))
        self.push_json(
            error_message(
                "token_expired",
                "The access token expired: refresh it and reconnect.",
            )
        )
        self.close_after(TOKEN_EXPIRED, "token expired")
        self._leave_groups()  # nothing after the close
