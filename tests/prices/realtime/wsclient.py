"""A few helpers over the `websockets` client library for the end-to-end tests."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

__all__ = [
    "closed_with",
    "connect",
    "nothing_within",
    "prices_socket",
    "receive",
    "refused",
    "send",
]


@asynccontextmanager
async def prices_socket(url: str, **options: Any) -> AsyncIterator[ClientConnection]:
    """A connection to a price stream, past its greeting."""
    async with connect(url, **options) as ws:
        assert await receive(ws) == {
            "type": "hello",
            "protocol": "marketpulse.prices.v1",
        }
        yield ws


async def receive(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def send(ws: ClientConnection, message: Any) -> None:
    await ws.send(message if isinstance(message, str) else json.dumps(message))


async def nothing_within(ws: ClientConnection, seconds: float) -> bool:
    try:
        await asyncio.wait_for(ws.recv(), seconds)
    except TimeoutError:
        return True
    return False


async def closed_with(
    ws: ClientConnection, timeout: float = 5
) -> tuple[int | None, str, int]:
    """Reads until the server closes; returns its close code (None when it sent no close
    frame), its reason and how many messages came before."""
    frames = 0
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
            frames += 1
    except ConnectionClosed as closed:
        if closed.rcvd is None:
            return None, "", frames
        return closed.rcvd.code, closed.rcvd.reason, frames


async def refused(url: str) -> bool:
    """Whether a new `/ws/prices/` connection is refused as one too many for the address."""
    async with connect(f"{url}/ws/prices/") as ws:
        first = await receive(ws)
        if first.get("code") != "too_many_connections":
            return False
        assert (await closed_with(ws))[0] == 1008
        return True
