"""`/ws/replay/`: stored candles streamed at a chosen pace, with pause, resume, seek, speed.

Limits (README, WebSockets): at most `WS_REPLAYS_PER_PROCESS` replays run on a web process
(one more is refused with `server_busy`, close 1013: try again later) and at most
`WS_REPLAYS_PER_IP` per client address across every process (`too_many_replays`, 1008).
Candles wait for room in the send queue (the client's reading paces a full-speed replay)
but fill at most half of it: replies and statuses have the other half, so a client that
stops reading and keeps sending overflows the queue and is cut off (1008) as a slow price
client is; one that stops reading for `WS_REPLAY_STALL_SECONDS` while candles wait is cut
off too.
"""

import asyncio
import contextlib
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from django.conf import settings

from marketpulse.errors import MarketPulseError
from prices.latest import iso_z
from prices.realtime import metrics, replays
from prices.realtime.consumers.admission import Lease, admission
from prices.realtime.consumers.base import (
    TRY_AGAIN_LATER,
    BadInput,
    Outgoing,
    StreamConsumer,
    dumps,
)

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
    # The replays running on this process.
    running_here: ClassVar[set["ReplayConsumer"]] = set()

    async def connect(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.first_page: asyncio.Task[list[Any]] | None = None
        self.slot: Lease | None = None
        await self._take_slot()
        query = dict(parse_qsl(self.scope.get("query_string", b"").decode()))
        try:
            self.params = await self.db.run(replays.replay_params, query)
        except MarketPulseError as exc:
            raise BadInput(
                exc.code, exc.message, details=exc.details, fatal=True
            ) from None
        # Counting is O(range); the first frames must not wait for a long range's count.
        self.next_page: asyncio.Task[list[Any]] | None = None
        self.first_page = self._fetch(self.params.start, inclusive=True)
        # A task of the connection: cancelled (query and all) if the client goes first.
        counting = self.in_background(
            self.db.run(replays.count_candles, params=self.params)
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

    async def _take_slot(self) -> None:
        limit = settings.WS_REPLAYS_PER_PROCESS
        if len(self.running_here) >= limit:
            raise BadInput(
                "server_busy",
                f"This server runs {limit} replays already: try again later.",
                details={"limit": limit},
                fatal=True,
                close_code=TRY_AGAIN_LATER,
            )
        self.running_here.add(self)
        per_ip = settings.WS_REPLAYS_PER_IP
        self.slot = await admission.admit(self.client_ip, pool="replays", limit=per_ip)
        if self.slot is None:
            self.running_here.discard(self)
            raise BadInput(
                "too_many_replays",
                f"At most {per_ip} replays at a time per client address "
                f"({self.client_ip}).",
                details={"limit": per_ip},
                fatal=True,
            )

    async def emit_paced(self, frame: Outgoing) -> None:
        """Queues a candle while the queue is less than half full; once it is, waits
        until the client has read half of that (one wake-up per quarter queue, not per
        candle). A client that reads that little in `WS_REPLAY_STALL_SECONDS` is cut off."""
        room = max(1, self.outbox.maxsize // 2)
        self.low_water = room // 2
        while self.outbox.qsize() >= room and not self.closing:
            self.drained.clear()
            try:
                await asyncio.wait_for(
                    self.drained.wait(), settings.WS_REPLAY_STALL_SECONDS
                )
            except TimeoutError:
                self.cut_off()
        if not self.closing:
            self.outbox.put_nowait(frame)

    def _counted(self, counting: "asyncio.Future[int]") -> None:
        if not counting.cancelled() and counting.exception() is None:
            self.total = counting.result()
            self.push_json({"type": "status", "status": "counted", "total": self.total})

    async def disconnect(self, code: int) -> None:
        for task in (
            getattr(self, "task", None),
            getattr(self, "first_page", None),
            getattr(self, "next_page", None),
        ):
            if task is not None:
                task.cancel()
        self.running_here.discard(self)
        slot, self.slot = getattr(self, "slot", None), None
        if slot is not None:
            await admission.release(slot)
        await super().disconnect(code)

    def play(self) -> None:
        self.task = asyncio.create_task(self._play(), name="replay")

    def status(self, status: str, request_id: Any = None, **extra: Any) -> None:
        # Replies take the half of the queue candles leave: full, the client is too slow.
        self.push(
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
            self.db.run(
                replays.candle_page,
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
        self.status("complete", sent=self.seq, total=self.total)

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
                await self.emit_paced(dumps(message))
                if self.closing:  # cut off
                    return
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
        self.status("paused", message.get("id"))

    async def do_resume(self, message: dict[str, Any]) -> None:
        self.running.set()
        self.status("resumed", message.get("id"))

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
        self.status("speed", message.get("id"), speed=speed)

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
        self.seq = await self.db.run(
            replays.count_candles, params=self.params, before=moment
        )
        self.position = moment
        self.status("seeked", message.get("id"), time=iso_z(moment))
        self.play()
