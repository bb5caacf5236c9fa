"""WebSocket consumers: live prices, candle replay, a user's alerts (DESIGN.md, protocol).

Every message to a client goes through one bounded queue per connection and one writer
task, so replies, snapshots and live updates leave in the order they were produced, and a
client that cannot keep up is cut off instead of growing server memory. Live messages reach
connections through the process's fan-out hub (`prices.fanout`), not the channel layer.
"""

import asyncio
import contextlib
import logging
from collections import Counter
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import orjson
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from assets.models import Asset
from marketpulse.api.errors import MarketPulseError
from prices import replays
from prices.broadcast import (
    KLINE_INTERVALS,
    alert_group,
    forming_candles,
    kline_group,
    price_frame,
    price_group,
)
from prices.fanout import hub
from prices.latest import LatestPrice, iso_z, latest_prices

logger = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
SERVER_ERROR = 1011
MAX_SYMBOL_LENGTH = 20
# How long a replay's first frame may wait for its candle count (else sent when known).
COUNT_BUDGET = 0.05
# Candles a replay sends before giving the event loop to others (~1 ms of work).
YIELD_EVERY = 32

# Open connections per client address, in this web process.
connections_per_ip: Counter[str] = Counter()


class Close(NamedTuple):
    code: int
    reason: str


# A JSON text, a ready ASGI message (shared by every connection), or the closing.
Outgoing = str | dict[str, str] | Close


class BadInput(Exception):
    """Bad client input: sent as an `error` message, fatal ones then close with 1008."""

    def __init__(
        self, code: str, message: str, *, details: Any = None, fatal: bool = False
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.details, self.fatal = (
            code,
            message,
            details,
            fatal,
        )


def error_message(
    code: str, message: str, *, details: Any = None, request_id: Any = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if details is not None:
        error["details"] = details
    if request_id is not None:
        error["id"] = request_id
    return error


def dumps(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()


class StreamConsumer(AsyncWebsocketConsumer):
    """Shared plumbing: connection limits, the ordered bounded outbox, input parsing."""

    # No channel-layer inbox per connection: live messages come through the process hub.
    # (Channels' dispatch of layer messages, a database-connection check through a thread
    # hop per message per consumer, was half the server CPU at 1000 clients.)
    channel_layer_alias = None  # type: ignore[assignment]

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        self.outbox: asyncio.Queue[Outgoing] = asyncio.Queue(
            maxsize=settings.WS_SEND_QUEUE
        )
        self.writer: asyncio.Task[None] | None = None
        self.groups_joined: set[str] = set()
        self.closing = False
        # asyncio keeps only weak references to tasks: these keep them alive.
        self.background: set[asyncio.Task[Any]] = set()
        client = self.scope.get("client") or ("unknown", 0)
        self.client_ip: str | None = client[0]
        await self.accept()
        if connections_per_ip[self.client_ip] >= settings.WS_MAX_CONNECTIONS_PER_IP:
            ip, self.client_ip = self.client_ip, None  # not counted
            await self.send(
                text_data=dumps(
                    error_message(
                        "too_many_connections",
                        f"At most {settings.WS_MAX_CONNECTIONS_PER_IP} connections "
                        f"per client address ({ip}).",
                    )
                )
            )
            await self.close(code=POLICY_VIOLATION, reason="too many connections")
            return
        connections_per_ip[self.client_ip] += 1
        self.writer = asyncio.create_task(self._write())
        try:
            await self.connect()
        except BadInput as bad:
            self.reject(bad)
        except Exception:
            self.fail("connect")

    async def connect(self) -> None:
        """Called once the socket is accepted and counted."""

    async def disconnect(self, code: int) -> None:
        self.closing = True
        for group in self.groups_joined:
            hub.discard(group, self)
        self.groups_joined.clear()
        if self.writer is not None:
            self.writer.cancel()
        for task in tuple(self.background):
            task.cancel()
        if self.client_ip is not None:
            connections_per_ip[self.client_ip] -= 1
            if connections_per_ip[self.client_ip] <= 0:
                del connections_per_ip[self.client_ip]
            self.client_ip = None

    # Sending: everything through the outbox, in order.

    async def _write(self) -> None:
        with contextlib.suppress(
            Exception
        ):  # the client went away: disconnect cleans up
            while True:
                item = await self.outbox.get()
                if isinstance(item, Close):
                    await self.close(code=item.code, reason=item.reason)
                    return
                # Straight to the server: live messages are ready-made ASGI messages.
                await self.base_send(
                    {"type": "websocket.send", "text": item}
                    if isinstance(item, str)
                    else item
                )

    def push(self, frame: Outgoing) -> None:
        """Queues without waiting; a full queue means the client is too slow: cut it off."""
        if self.closing:
            return
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            self.cut_off()

    async def emit(self, frame: Outgoing) -> None:
        """Queues, waiting for room (replay: the client's pace sets the replay's pace)."""
        if not self.closing:
            await self.outbox.put(frame)

    def push_json(self, message: dict[str, Any]) -> None:
        self.push(dumps(message))

    def close_after(self, code: int, reason: str) -> None:
        self.push(Close(code, reason))
        self.closing = True

    def in_background(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def cut_off(self) -> None:
        logger.warning("websocket client %s too slow: disconnected", self.client_ip)
        self.closing = True
        for group in self.groups_joined:
            hub.discard(group, self)
        self.groups_joined.clear()
        if self.writer is not None:
            self.writer.cancel()
        while not self.outbox.empty():
            self.outbox.get_nowait()
        # The close frame goes out once the socket's buffer drains; a client that never
        # reads again is dropped by uvicorn's ping timeout (and `disconnect` runs).
        self.writer = asyncio.create_task(
            self.close(code=POLICY_VIOLATION, reason="too slow: send queue overflowed")
        )

    def reject(self, bad: BadInput, request_id: Any = None) -> None:
        self.push_json(
            error_message(
                bad.code, bad.message, details=bad.details, request_id=request_id
            )
        )
        if bad.fatal:
            self.close_after(POLICY_VIOLATION, bad.code)

    def fail(self, where: str) -> None:
        logger.exception("websocket consumer failed in %s", where)
        self.push_json(error_message("internal_error", "Server error."))
        self.close_after(SERVER_ERROR, "internal error")

    # Live feed (the hub calls these).

    def deliver(self, group: str, message: dict[str, str]) -> None:
        self.push(message)

    def feed_status(self, live: bool) -> None:
        self.push_json({"type": "status", "status": "live" if live else "degraded"})

    # Receiving.

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        if self.closing:
            return
        request_id = None
        try:
            message = self.parse(text_data, bytes_data)
            request_id = message.get("id")
            await self.handle(message)
        except BadInput as bad:
            self.reject(bad, request_id)
        except Exception:
            self.fail("receive")

    def parse(self, text_data: str | None, bytes_data: bytes | None) -> dict[str, Any]:
        if text_data is None:
            raise BadInput("invalid_message", "Send JSON text frames.", fatal=True)
        if len(text_data) > settings.WS_MAX_MESSAGE_CHARS:
            raise BadInput(
                "message_too_large",
                f"Messages are limited to {settings.WS_MAX_MESSAGE_CHARS} characters.",
                fatal=True,
            )
        try:
            message = orjson.loads(text_data)
        except orjson.JSONDecodeError:
            raise BadInput("invalid_json", "Not valid JSON.", fatal=True) from None
        if not isinstance(message, dict) or not isinstance(message.get("action"), str):
            raise BadInput(
                "invalid_message",
                'Send a JSON object with an "action".',
                fatal=True,
            )
        return message

    async def handle(self, message: dict[str, Any]) -> None:
        action = message["action"]
        if action == "ping":
            self.push_json({"type": "pong", "id": message.get("id")})
            return
        handler = getattr(self, f"do_{action}", None)
        if action not in self.actions or handler is None:
            raise BadInput(
                "unknown_action",
                f"Unknown action {action!r}; use one of: "
                + ", ".join([*self.actions, "ping"]),
                fatal=True,
            )
        await handler(message)

    actions: tuple[str, ...] = ()

    def join(self, group: str) -> None:
        hub.add(group, self)
        self.groups_joined.add(group)

    def leave(self, group: str) -> None:
        hub.discard(group, self)
        self.groups_joined.discard(group)


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


@database_sync_to_async
def known_symbols(symbols: list[str]) -> set[str]:
    return set(
        Asset.objects.filter(symbol__in=symbols).values_list("symbol", flat=True)
    )


@database_sync_to_async
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


async def snapshots_of(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The current frame of each (stream, symbol) that has one, by group."""
    frames: dict[str, str] = {}
    prices = [symbol for stream, symbol in pairs if stream == "price"]
    if prices:
        for price in await latest_of(prices):
            frames[price_group(price["symbol"])] = price_frame(price).decode()
    for stream in dict.fromkeys(s for s, _ in pairs if s != "price"):
        interval = stream.removeprefix("kline_")
        symbols = [symbol for s, symbol in pairs if s == stream]
        candles = await sync_to_async(forming_candles, thread_sensitive=False)(
            interval=interval, symbols=symbols
        )
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
                bad.fatal = (
                    True  # a one-symbol stream of an unknown symbol is no stream
                )
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
            snapshots = await snapshots_of(pairs)
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
        unknown = sorted(set(new_symbols) - await known_symbols(new_symbols))
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


class AlertStreamConsumer(StreamConsumer):
    """`/ws/alerts/`: the signed-in user's alert events (session or JWT), nobody else's."""

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
        await hub.start()
        self.join(alert_group(user.pk))
        self.push_json({"type": "subscribed", "stream": "alerts"})
        if not hub.live:
            self.feed_status(False)


class ReplayConsumer(StreamConsumer):
    """`/ws/replay/?symbol=&interval=&start=&end=&speed=`: stored candles in order at
    `speed` candles per second; pause, resume, seek and speed while it runs. The replay
    task belongs to the connection and is cancelled the moment it closes."""

    actions = ("pause", "resume", "seek", "speed")

    async def connect(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.first_page: asyncio.Task[list[Any]] | None = None
        query = dict(parse_qsl(self.scope.get("query_string", b"").decode()))
        try:
            self.params = await database_sync_to_async(replays.replay_params)(query)
        except MarketPulseError as exc:
            raise BadInput(
                exc.code, exc.message, details=exc.details, fatal=True
            ) from None
        # Counting is O(range); the first frames must not wait for a long range's count.
        self.next_page: asyncio.Task[list[Any]] | None = None
        self.first_page = self._fetch(self.params.start, inclusive=True)
        counting = asyncio.create_task(
            database_sync_to_async(replays.count_candles, thread_sensitive=False)(
                params=self.params
            )
        )
        await asyncio.wait({counting}, timeout=COUNT_BUDGET)
        self.total: int | None = counting.result() if counting.done() else None
        if self.total is None:
            counting.add_done_callback(self._counted)
        self.running = asyncio.Event()
        self.running.set()
        self.seq = 0
        self.position = self.params.start
        self.push_json(
            {
                "type": "status",
                "status": "starting",
                "total": self.total,
                "symbol": self.params.symbol,
                "interval": self.params.interval,
                "start": iso_z(self.params.start),
                "end": iso_z(self.params.end),
                "speed": self.params.speed,
            }
        )
        self.play()

    def push(self, frame: Outgoing) -> None:
        # A full queue is a replay's normal backpressure, not a slow client: wait for room.
        if self.outbox.full() and not self.closing:
            self.in_background(self.emit(frame))
        else:
            super().push(frame)

    def _counted(self, counting: "asyncio.Task[int]") -> None:
        if not counting.cancelled() and counting.exception() is None:
            self.total = counting.result()
            self.push_json({"type": "status", "status": "counted", "total": self.total})

    async def disconnect(self, code: int) -> None:
        for task in (getattr(self, "task", None), getattr(self, "first_page", None)):
            if task is not None:
                task.cancel()
        await super().disconnect(code)

    def play(self) -> None:
        self.task = asyncio.create_task(self._play(), name="replay")

    async def status(self, status: str, request_id: Any = None, **extra: Any) -> None:
        # Waits for room like the candles do: a busy queue slows a replay, never cuts it.
        await self.emit(
            dumps(
                {"type": "status", "status": status, "id": request_id, "seq": self.seq}
                | extra
            )
        )

    def _anchor(self) -> None:
        loop = asyncio.get_running_loop()
        self.anchor = (loop.time(), self.seq)

    async def _play(self) -> None:
        try:
            await self._stream()
        except asyncio.CancelledError:
            raise
        except Exception:
            self.fail("replay")

    def _fetch(self, since: datetime, *, inclusive: bool) -> "asyncio.Task[list[Any]]":
        """Reads the next page in a worker thread (never on the event loop)."""
        return asyncio.create_task(
            database_sync_to_async(replays.candle_page, thread_sensitive=False)(
                params=self.params,
                since=since,
                inclusive=inclusive,
                limit=settings.WS_REPLAY_PAGE,
            )
        )

    async def _stream(self) -> None:
        # The next page is read while this one is sent: a page's query never stalls it.
        pending: asyncio.Task[list[Any]] | None = self.first_page or self._fetch(
            self.position, inclusive=True
        )
        self.first_page = None
        try:
            await self._send_pages(pending)
        finally:
            if self.next_page is not None:
                self.next_page.cancel()
        await self.status("complete", sent=self.seq, total=self.total)

    async def _send_pages(self, pending: "asyncio.Task[list[Any]]") -> None:
        loop = asyncio.get_running_loop()
        self._anchor()
        while True:
            rows = await pending
            self.next_page = (
                self._fetch(rows[-1][0], inclusive=False)
                if len(rows) == settings.WS_REPLAY_PAGE
                else None
            )
            for row in rows:
                while True:
                    if not self.running.is_set():
                        await self.running.wait()
                        self._anchor()
                    anchor_time, anchor_seq = self.anchor
                    due = anchor_time + (self.seq - anchor_seq) / self.params.speed
                    delay = due - loop.time()
                    if delay <= 0 and self.running.is_set():
                        break
                    if delay > 0:
                        await asyncio.sleep(delay)
                message = replays.candle_message(
                    params=self.params, seq=self.seq, row=row
                )
                await self.emit(dumps(message))
                self.seq += 1
                self.position = row[0]
                if self.seq % YIELD_EVERY == 0:
                    # A fast replay never waits: let other connections and requests
                    # sharing this event loop in between.
                    await asyncio.sleep(0)
            if self.next_page is None:
                return
            pending, self.next_page = self.next_page, None

    async def do_pause(self, message: dict[str, Any]) -> None:
        self.running.clear()
        await self.status("paused", message.get("id"))

    async def do_resume(self, message: dict[str, Any]) -> None:
        self.running.set()
        await self.status("resumed", message.get("id"))

    async def do_speed(self, message: dict[str, Any]) -> None:
        speed = replays.parse_speed(message.get("speed"))
        if speed is None or isinstance(message.get("speed"), bool):
            raise BadInput(
                "invalid_speed",
                f"speed: candles per second, above 0 and at most "
                f"{settings.WS_REPLAY_MAX_SPEED}.",
            )
        self.params.speed = speed
        self._anchor()
        await self.status("speed", message.get("id"), speed=speed)

    async def do_seek(self, message: dict[str, Any]) -> None:
        moment = (
            replays.parse_time(message["time"])
            if isinstance(message.get("time"), str)
            else None
        )
        if moment is None or not self.params.start <= moment <= self.params.end:
            raise BadInput(
                "invalid_time",
                "time: an ISO 8601 time with a zone, within the replay's range.",
            )
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.first_page is not None:  # read for the old position, never used
            self.first_page.cancel()
            self.first_page = None
        self.seq = await database_sync_to_async(replays.count_candles)(
            params=self.params, before=moment
        )
        self.position = moment
        await self.status("seeked", message.get("id"), time=iso_z(moment))
        self.play()
