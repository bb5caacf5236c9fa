"""`/ws/replay/`: stored candles streamed at a chosen pace, with pause, resume, seek, speed."""

import asyncio
import contextlib
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from channels.db import database_sync_to_async
from django.conf import settings

from marketpulse.errors import MarketPulseError
from prices.latest import iso_z
from prices.realtime import metrics, replays
from prices.realtime.consumers.base import BadInput, Outgoing, StreamConsumer, dumps

# How long a replay's first frame may wait for its candle count (else sent when known).
COUNT_BUDGET = 0.05
# Candles a replay sends before giving the event loop to others (~1 ms of work).
YIELD_EVERY = 32


class ReplayConsumer(StreamConsumer):
    """`/ws/replay/?symbol=&interval=&start=&end=&speed=`: stored candles in order at
    `speed` candles per second; pause, resume, seek and speed while it runs. The replay
    task belongs to the connection and is cancelled the moment it closes."""

    actions = ("pause", "resume", "seek", "speed")
    stream = "replay"

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
        metrics.replays_running.inc()
        try:
            await self._stream()
        except asyncio.CancelledError:
            raise
        except Exception:
            self.fail("replay")
        finally:
            metrics.replays_running.dec()

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
        pending: asyncio.Task[list[Any]] = self.first_page or self._fetch(
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
            replays.parse_replay_time(message["time"])
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
