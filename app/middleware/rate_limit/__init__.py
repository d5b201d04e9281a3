"""Rate limits: token buckets per client address (reads) and per API key (writes).

`middleware` holds the ASGI layer and the headers it sends, `buckets` the in-process and
Redis stores, `client_address` who the client is behind trusted proxies.
"""

from __future__ import annotations

from typing import Any

from app.middleware.rate_limit.buckets import BucketStore, MemoryBuckets, Policy, RedisBuckets
from app.settings import Settings


def make_store(settings: Settings) -> BucketStore:
    """Redis-backed buckets when CP_REDIS_URL is set (failing open to these in-process
    ones), in-process buckets otherwise."""
    memory = MemoryBuckets(max_clients=settings.rate_limit_max_clients)
    if settings.redis_url:
        return RedisBuckets(settings.redis_url, prefix=settings.rate_limit_prefix, fallback=memory)
    return memory


def rate_limit_options(settings: Settings) -> dict[str, Any]:
    """RateLimitMiddleware's arguments, from the CP_RATE_LIMIT_* settings."""
    return {
        "store": make_store(settings),
        "reads": Policy(
            "reads", settings.rate_limit_reads_per_second, settings.rate_limit_read_burst
        ),
        "writes": Policy(
            "writes", settings.rate_limit_writes_per_second, settings.rate_limit_write_burst
        ),
        "cors_origins": settings.cors_origins,
    }
