"""Database calls of WebSocket connections: a bounded thread pool of their own, and
queries that end with the task awaiting them.

Channels runs `database_sync_to_async` calls thread-sensitively: outside an HTTP request
every WebSocket connection of a process shares ONE thread, so one connection whose query
is slow (a `seek` over a long range, a count waiting on a lock) held up every other
connection's subscribe and sign-in behind it. Here:

- calls run on `WS_DB_THREADS` threads of their own (each with its own database
  connection), first come first served, so one slow query holds one thread, not all;
- each connection makes at most one call at a time (`Gate`), so no connection can queue
  more than one call ahead of the others, however fast it sends;
- a call whose awaiting task is cancelled (the client went away, a `seek` replaced the
  replay) is taken off the queue if it has not started, and if it has, its query is
  cancelled in PostgreSQL and that thread's connection closed (so a late cancel can never
  hit the next call's query): no query outlives the connection that asked for it.
"""

import asyncio
import contextlib
import contextvars
import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections

logger = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=settings.WS_DB_THREADS, thread_name_prefix="ws-db"
            )
        return _executor


class _Call:
    """One call's state, shared by its worker thread and the event loop."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.wrapper: Any = None  # the worker thread's Django connection, while running
        self.cancelled = False


def _run_in_thread[R](call: _Call, fn: Callable[..., R], args: Any, kwargs: Any) -> R:
    close_old_connections()
    with call.lock:
        if call.cancelled:
            raise asyncio.CancelledError
        call.wrapper = connections[DEFAULT_DB_ALIAS]
    try:
        return fn(*args, **kwargs)
    finally:
        with call.lock:
            call.wrapper = None
            cancelled = call.cancelled
        if cancelled:
            # A cancel sent just as the query ended could still reach this backend's
            # next query: the connection goes, not only the query.
            with contextlib.suppress(Exception):
                connections[DEFAULT_DB_ALIAS].close()
        close_old_connections()


def _cancel_query(call: _Call) -> None:
    """Cancels the call's query until the call has ended: a cancel can arrive before
    the query has started (the connection still opening) or fail on a busy server."""
    for _ in range(100):  # ~10 s at most
        with call.lock:
            wrapper = call.wrapper
        if wrapper is None:
            return  # the call ended
        raw = getattr(wrapper, "connection", None)
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.cancel_safe(timeout=2)
        time.sleep(0.1)


async def run[**P, R](fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Runs `fn` (which reads the database) on the WebSocket pool; cancelling the
    awaiting task cancels its query too."""
    loop = asyncio.get_running_loop()
    call = _Call()
    context = contextvars.copy_context()
    future = loop.run_in_executor(
        executor(),
        functools.partial(context.run, _run_in_thread, call, fn, args, kwargs),
    )
    try:
        return await future
    except asyncio.CancelledError:
        with call.lock:
            call.cancelled = True
            wrapper = call.wrapper
        if wrapper is not None:  # running now: stop its query (off the event loop)
            loop.run_in_executor(None, _cancel_query, call)
        raise


class Gate:
    """At most one database call in flight for one connection."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def run[**P, R](
        self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        async with self._lock:
            return await run(fn, *args, **kwargs)
