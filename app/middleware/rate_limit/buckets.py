"""Token buckets: in process (bounded LRU) or in Redis (one atomic Lua script per charge).

A bucket holds up to `burst` tokens and refills at `rate` tokens a second; a request costs
one. A charge either takes its cost whole or leaves the bucket untouched (refused), so a
client that keeps hammering while refused is not pushed further into debt: it is served
again as soon as one token has refilled. A negative cost is a refund (capped at `burst`),
a zero cost a look.

In process, the buckets live in an LRU of at most CP_RATE_LIMIT_MAX_CLIENTS entries: a
crawler cycling through addresses evicts the least recently seen buckets rather than
growing memory (an evicted client comes back to a full bucket, the price of the bound).
Each charge runs without an await between read and write, so it is atomic on the event
loop the middleware runs on.

With CP_REDIS_URL, every instance shares the buckets. The script reads the clock from
Redis (`TIME`), so instances with skewed clocks agree, and sets a TTL of the time a bucket
takes to refill from empty: an idle bucket expires exactly when it would be full anyway.
If Redis cannot be reached (connect/read timeouts of 0.5 s, no retries), the store *fails
open* to the in-process buckets of this instance for RETRY_AFTER_FAILURE seconds before
trying Redis again: no request fails because Redis did, and each instance still enforces
the limit on its own. The outage is logged as a warning at most once per WARN_INTERVAL.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

logger = logging.getLogger("app.middleware.rate_limit")

REDIS_TIMEOUT = 0.5
RETRY_AFTER_FAILURE = 5.0
WARN_INTERVAL = 60.0


@dataclass(frozen=True)
class Policy:
    """One quota policy: its name in the RateLimit headers, refill rate and bucket size."""

    name: str
    rate: float
    burst: int

    @property
    def window(self) -> int:
        """Seconds an empty bucket takes to refill (`w` in RateLimit-Policy; at least 1)."""
        return max(1, math.ceil(self.burst / self.rate))

    @property
    def header(self) -> str:
        return f'"{self.name}";q={self.burst};w={self.window}'


@dataclass(frozen=True)
class Outcome:
    """What a charge did: whether it was allowed, and the tokens left after it."""

    allowed: bool
    tokens: float
    policy: Policy

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.tokens))

    @property
    def retry_after(self) -> int:
        """Whole seconds until one token is there again (at least 1)."""
        return max(1, math.ceil((1 - self.tokens) / self.policy.rate))

    @property
    def header(self) -> str:
        """The RateLimit item: `r` whole tokens left, `t` seconds until the next one
        refills (omitted when the bucket is full: nothing is refilling)."""
        item = f'"{self.policy.name}";r={self.remaining}'
        if self.tokens < self.policy.burst:
            next_token = (math.floor(self.tokens) + 1 - self.tokens) / self.policy.rate
            item += f";t={max(1, math.ceil(next_token))}"
        return item


class BucketStore(Protocol):
    async def charge(self, key: str, policy: Policy, cost: float) -> Outcome: ...

    async def aclose(self) -> None: ...


class MemoryBuckets:
    """Buckets in this process, in an LRU bounded to `max_clients` keys."""

    def __init__(self, *, max_clients: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_clients = max_clients
        self.clock = clock
        # key -> (tokens, when they were counted)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def charge_now(self, key: str, policy: Policy, cost: float) -> Outcome:
        now = self.clock()
        state = self._buckets.get(key)
        if state is None:
            tokens = float(policy.burst)
        else:
            tokens = min(policy.burst, state[0] + max(0.0, now - state[1]) * policy.rate)
            self._buckets.move_to_end(key)
        allowed = cost <= 0 or tokens >= cost
        if allowed:
            tokens = min(float(policy.burst), tokens - cost)
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return Outcome(allowed, tokens, policy)

    async def charge(self, key: str, policy: Policy, cost: float) -> Outcome:
        return self.charge_now(key, policy, cost)

    async def aclose(self) -> None:
        self._buckets.clear()


# KEYS[1] the bucket; ARGV rate, burst, cost, ttl in ms. Returns {allowed, tokens as text}
# (Lua numbers would come back truncated to integers).
TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
end
local allowed = 0
if cost <= 0 or tokens >= cost then
  allowed = 1
  tokens = math.min(burst, tokens - cost)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {allowed, tostring(tokens)}
"""


class RedisBuckets:
    """Buckets in Redis under `prefix`, failing open to in-process buckets (see above)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        fallback: MemoryBuckets,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.prefix = prefix
        self.fallback = fallback
        self.clock = clock
        self._pool = BlockingConnectionPool.from_url(
            url,
            max_connections=64,
            timeout=REDIS_TIMEOUT,
            socket_connect_timeout=REDIS_TIMEOUT,
            socket_timeout=REDIS_TIMEOUT,
        )
        self._redis = Redis(connection_pool=self._pool, retry=Retry(NoBackoff(), 0))
        self._script = self._redis.register_script(TOKEN_BUCKET)
        self._down_until = -math.inf
        self._warned_at = -math.inf
        self._failing = False

    async def charge(self, key: str, policy: Policy, cost: float) -> Outcome:
        now = self.clock()
        if now < self._down_until:
            return self.fallback.charge_now(key, policy, cost)
        ttl_ms = math.ceil(policy.burst / policy.rate * 1000) + 1000
        try:
            allowed, tokens = await self._script(
                keys=[self.prefix + key], args=[policy.rate, policy.burst, cost, ttl_ms]
            )
        except (RedisError, OSError) as exc:
            self._fail(now, exc)
            return self.fallback.charge_now(key, policy, cost)
        if self._failing:
            self._failing = False
            logger.warning("rate limiter: Redis is reachable again; buckets are shared again")
        return Outcome(bool(allowed), float(tokens), policy)

    def _fail(self, now: float, exc: Exception) -> None:
        self._down_until = now + RETRY_AFTER_FAILURE
        self._failing = True
        if now - self._warned_at >= WARN_INTERVAL:
            self._warned_at = now
            logger.warning(
                "rate limiter: Redis unreachable (%s: %s); limiting per instance, in "
                "process, and retrying every %.0f s",
                exc.__class__.__name__,
                exc,
                RETRY_AFTER_FAILURE,
            )

    async def aclose(self) -> None:
        await self._redis.aclose()
        await self._pool.aclose()
