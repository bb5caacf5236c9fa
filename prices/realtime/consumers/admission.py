"""WebSocket connections per client address, counted in Redis across every web process.

Each open connection holds a lease: a member of one sorted set per address, scored by the
time its lease runs out. Each process renews the leases of its own connections every
third of a lease, so the connections of a process that died stop counting within one
lease. Without Redis the limit falls back to this process's own count (and says so in
the log): a client is not refused because Redis is down. Renewing adds every open
connection's lease back, so after an outage or a Redis restart (which keeps nothing) all
of them count again within a third of a lease.

The same leases count replays per address (pool "replays", `WS_REPLAYS_PER_IP`) beside
connections (pool "connections", `WS_MAX_CONNECTIONS_PER_IP`).
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass

import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import RedisError

from prices.realtime.broadcast import channel_prefix

logger = logging.getLogger(__name__)

# KEYS[1]: the address's set; ARGV: now, lease end, limit, member, seconds to keep the set.
ADMIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


@dataclass(frozen=True, slots=True)
class Lease:
    address: str
    member: str
    pool: str = "connections"


class Admission:
    """This process's side of the shared count: admits, releases, renews its leases."""

    def __init__(self) -> None:
        self.leases: set[Lease] = set()  # one per open connection of this process
        self._redis: aioredis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._renewer: asyncio.Task[None] | None = None

    def key(self, address: str, pool: str = "connections") -> str:
        return f"{channel_prefix()}ws:{pool}:{address}"

    @property
    def redis(self) -> aioredis.Redis:
        # Made inside the server's event loop, which it belongs to (tests run several).
        loop = asyncio.get_running_loop()
        if self._redis is None or self._loop is not loop:
            self._redis, self._loop, self._renewer = None, loop, None
            # A bounded pool that waits for a free connection: a burst of connects
            # queues here instead of opening one Redis connection each.
            pool = aioredis.BlockingConnectionPool.from_url(
                settings.REDIS_URL,
                max_connections=10,
                timeout=2,
                socket_connect_timeout=1,
                socket_timeout=1,
            )
            self._redis = aioredis.Redis(connection_pool=pool)
        return self._redis

    async def admit(
        self, address: str, *, pool: str = "connections", limit: int | None = None
    ) -> Lease | None:
        """A lease for one more connection (or replay: `pool`) from `address`, or None
        when it has its `limit` (default `WS_MAX_CONNECTIONS_PER_IP`) open already (on
        any web process)."""
        if limit is None:
            limit = settings.WS_MAX_CONNECTIONS_PER_IP
        lease_seconds = settings.WS_CONNECTION_LEASE_SECONDS
        member = uuid.uuid4().hex
        now = time.time()
        try:
            admitted = await self.redis.eval(
                ADMIT, 1, self.key(address, pool),
                now, now + lease_seconds, limit, member, lease_seconds + 1,
            )  # fmt: skip
        except (RedisError, OSError) as exc:
            logger.warning(
                "redis unavailable (%s): connections per address counted in this "
                "process only",
                exc,
            )
            # The scan is only for this fallback: admitting normally never counts here.
            admitted = (
                sum(
                    lease.address == address and lease.pool == pool
                    for lease in self.leases
                )
                < limit
            )
        if not admitted:
            return None
        lease = Lease(address, member, pool)
        self.leases.add(lease)
        self._start_renewing()
        return lease

    async def release(self, lease: Lease) -> None:
        self.leases.discard(lease)
        # Without Redis, its lease runs out on its own.
        with contextlib.suppress(RedisError, OSError):
            await self.redis.zrem(self.key(lease.address, lease.pool), lease.member)

    def _start_renewing(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(
                self._renew_forever(), name="ws-connection-leases"
            )

    async def _renew_forever(self) -> None:
        while self.leases:
            await asyncio.sleep(settings.WS_CONNECTION_LEASE_SECONDS / 3)
            try:
                await self.renew()
            except (RedisError, OSError) as exc:
                logger.warning("redis unavailable (%s): leases not renewed", exc)

    async def renew(self) -> None:
        lease_seconds = settings.WS_CONNECTION_LEASE_SECONDS
        until = time.time() + lease_seconds
        renewing = set(self.leases)
        members: dict[str, dict[str, float]] = defaultdict(dict)
        for lease in renewing:
            members[self.key(lease.address, lease.pool)][lease.member] = until
        pipe = self.redis.pipeline(transaction=False)
        for key, leases in members.items():
            # Not XX: a lease Redis lost (outage, restart) is added back.
            pipe.zadd(key, leases)
            pipe.expire(key, lease_seconds + 1)
        await pipe.execute()
        # A connection that closed meanwhile may have been removed before we added its
        # lease back: remove it again.
        for lease in renewing - self.leases:
            await self.redis.zrem(self.key(lease.address, lease.pool), lease.member)


admission = Admission()
