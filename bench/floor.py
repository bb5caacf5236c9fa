"""The floor for `bench fanout`: a bare ASGI app doing the least a fan-out can do.

No Django, no Channels, no per-connection outbox or limits: one Redis subscription to the
bench symbol's channel, and each frame sent to every socket in turn. Served by the same
uvicorn with the same options and measured by the same clients in the same run, it tells
how much of the real server's latency is the machine and the instrument, not our code.
"""

import asyncio
import os
from typing import Any

import redis.asyncio as aioredis

HELLO = '{"type":"hello"}'
SUBSCRIBED = '{"type":"subscribed"}'

sockets: set[Any] = set()
reader: asyncio.Task[None] | None = None


async def read_feed() -> None:
    client = aioredis.from_url(os.environ["REDIS_URL"])
    pubsub = client.pubsub()
    await pubsub.subscribe(os.environ["BENCH_FLOOR_CHANNEL"])
    async for message in pubsub.listen():
        if message["type"] != "message":
            continue
        event = {"type": "websocket.send", "text": message["data"].decode()}
        for send in tuple(sockets):
            try:
                await send(event)
            except Exception:
                sockets.discard(send)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global reader
    if scope["type"] == "http":  # the readiness check
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    for greeting in (HELLO, SUBSCRIBED):
        await send({"type": "websocket.send", "text": greeting})
    if reader is None:
        reader = asyncio.create_task(read_feed())
    sockets.add(send)
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        sockets.discard(send)
