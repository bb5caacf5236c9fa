"""Shared plumbing of the WebSocket consumers: limits, the ordered outbox, input errors.

Every message to a client goes through one bounded queue per connection and one writer
task, so replies, snapshots and live updates leave in the order they were produced, and a
client that cannot keep up is cut off instead of growing server memory. Live messages reach
connections through the process's fan-out hub (`prices.realtime.fanout`), not the channel layer.

What a client sends is limited too: `WS_MESSAGE_RATE` messages per second per connection,
in bursts of up to `WS_MESSAGE_BURST`; one over gets a `rate_limited` error, then close
1008 (a client that floods is cut off rather than served more slowly: serving it at all
costs every other connection of the process). Database reads go through the connection's
`wsdb.Gate`: one call at a time, on the WebSocket pool, cancelled when the connection ends.
"""

import asyncio
import contextlib
import logging
import time
from typing import Any, NamedTuple

import orjson
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from marketpulse import wsdb
from prices.realtime import metrics
from prices.realtime.consumers.admission import Lease, admission
from prices.realtime.fanout import hub

logger = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
SERVER_ERROR = 1011
TRY_AGAIN_LATER = 1013  # the server is at a limit of its own; the client did no wrong
MAX_SYMBOL_LENGTH = 20


class Close(NamedTuple):
    code: int
    reason: str


# A JSON text, a ready ASGI message (shared by every connection), or the closing.
Outgoing = str | dict[str, str] | Close


class BadInput(Exception):
    """Bad client input: sent as an `error` message, fatal ones then close with 1008."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        details: Any = None,
        fatal: bool = False,
        close_code: int = POLICY_VIOLATION,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.fatal = fatal
        self.close_code = close_code


class MessageBudget:
    """A token bucket: `burst` messages at once, refilled at `rate` per second."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


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
    channel_layer_alias = None
    # The `stream` label of this consumer's metrics.
    stream = "prices"

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' own dispatch first closes stale database connections on the one
        # thread every connection of the process shares (a thread hop per message, and
        # a queue one busy connection could hold for all). Our database calls run on the
        # WebSocket pool, which closes its own (`marketpulse.wsdb`).
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        # As Channels', less the channel-layer groups (none) and the shared-thread hop.
        await self.disconnect(message["code"])
        raise StopConsumer

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        self.outbox: asyncio.Queue[Outgoing] = asyncio.Queue(
            maxsize=settings.WS_SEND_QUEUE
        )
        # Set when the writer takes a frame and leaves at most `low_water` queued
        # (replays wait on it for room: once per half queue, not once per frame).
        self.drained = asyncio.Event()
        self.low_water = settings.WS_SEND_QUEUE
        self.budget = MessageBudget(settings.WS_MESSAGE_RATE, settings.WS_MESSAGE_BURST)
        self.db = wsdb.Gate()
        self.writer: asyncio.Task[None] | None = None
        self.groups_joined: set[str] = set()
        self.closing = False
        # asyncio keeps only weak references to tasks: these keep them alive.
        self.background: set[asyncio.Task[Any]] = set()
        client = self.scope.get("client") or ("unknown", 0)
        self.client_ip: str = client[0]
        await self.accept()
        self.lease: Lease | None = await admission.admit(self.client_ip)
        if self.lease is None:
            await self.send(
                text_data=dumps(
                    error_message(
                        "too_many_connections",
                        f"At most {settings.WS_MAX_CONNECTIONS_PER_IP} connections "
                        f"per client address ({self.client_ip}).",
                    )
                )
            )
            await self.close(code=POLICY_VIOLATION, reason="too many connections")
            return
        self.writer = asyncio.create_task(self._write())
        metrics.websocket_connections.labels(self.stream).inc()
        try:
            await self.connect()
        except BadInput as bad:
            self.reject(bad)
        except Exception:
            self.fail("connect")

    async def connect(self) -> None:
        """Called once the socket is accepted and counted."""

    async def disconnect(self, code: int) -> None:
        self._stop_sending()
        for task in tuple(self.background):
            task.cancel()
        lease, self.lease = getattr(self, "lease", None), None
        if lease is not None:
            metrics.websocket_connections.labels(self.stream).dec()
            await admission.release(lease)

    # Sending: everything through the outbox, in order.

    async def _write(self) -> None:
        # Any failure here means the client went away: `disconnect` cleans up.
        with contextlib.suppress(Exception):
            while True:
                item = await self.outbox.get()
                if self.outbox.qsize() <= self.low_water:
                    self.drained.set()
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

    def push_json(self, message: dict[str, Any]) -> None:
        self.push(dumps(message))

    def close_after(self, code: int, reason: str) -> None:
        self.push(Close(code, reason))
        self.closing = True

    def in_background(self, coroutine: Any) -> "asyncio.Future[Any]":
        """Runs `coroutine` as a task of this connection: cancelled when it closes."""
        task = asyncio.ensure_future(coroutine)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    def _leave_groups(self) -> None:
        self.closing = True
        for group in self.groups_joined:
            hub.discard(group, self)
        self.groups_joined.clear()

    def _stop_sending(self) -> None:
        """The client is gone: no more live frames, and the writer stops at once."""
        self._leave_groups()
        if self.writer is not None:
            self.writer.cancel()

    def cut_off(self) -> None:
        logger.warning("websocket client %s too slow: disconnected", self.client_ip)
        metrics.slow_clients.labels(self.stream).inc()
        self._leave_groups()
        # The queued frames are dropped; the close goes next, after the frame being
        # written now (cancelling that write midway could leave the socket with no close
        # ever sent). A client that never reads again is dropped by uvicorn's ping timeout.
        while not self.outbox.empty():
            self.outbox.get_nowait()
        self.outbox.put_nowait(
            Close(POLICY_VIOLATION, "too slow: send queue overflowed")
        )

    def reject(self, bad: BadInput, request_id: Any = None) -> None:
        self.push_json(
            error_message(
                bad.code, bad.message, details=bad.details, request_id=request_id
            )
        )
        if bad.fatal:
            self.close_after(bad.close_code, bad.code)

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
        if not self.budget.take():
            self.reject(
                BadInput(
                    "rate_limited",
                    f"At most {settings.WS_MESSAGE_RATE:g} messages per second "
                    f"(bursts of {settings.WS_MESSAGE_BURST}) per connection.",
                    fatal=True,
                )
            )
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
