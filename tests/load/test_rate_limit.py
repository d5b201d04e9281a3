"""Rate limits as a client sees them: 429 problem+json with Retry-After and the RateLimit
headers, per address for reads and per key for writes, trusted proxies only, cheap 304s,
the off switch, probes exempt; buckets shared through Redis, and failing open without it.

Limits are tiny so a handful of requests reach them; refill rates are either negligible
(nothing refills during a test) or high enough that the one wait, Retry-After, is 1 s.
The suite runs with the limiter off (tests/conftest.py): each test here turns it on.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from app.main import create_app
from app.middleware.rate_limit.buckets import MemoryBuckets, Policy
from app.settings import Settings
from app.vocabulary import KeyScope
from tests.factories import bearer, make_key
from tests.problems import assert_problem
from tests.servers import free_port, running_server

REDIS_URL = "redis://127.0.0.1:6379/0"
# Effectively no refill: a test's requests never earn a token back.
FROZEN = 0.001
POSITIONS = "/countries/RS/positions"
POLICY = re.compile(r'^"(reads|writes)";q=(\d+);w=(\d+)$')
LIMIT = re.compile(r'^"(reads|writes)";r=(\d+)(?:;t=(\d+))?$')


def limited(settings: Settings, **overrides: Any) -> Settings:
    """`settings` with the limiter on and the given CP_RATE_LIMIT_* values."""
    values: dict[str, Any] = {
        "rate_limit_enabled": True,
        "rate_limit_reads_per_second": FROZEN,
        "rate_limit_writes_per_second": FROZEN,
        **overrides,
    }
    return settings.model_copy(update=values)


def rate_limit(response: httpx.Response) -> tuple[str, int, int | None]:
    """The RateLimit item: policy name, remaining, and seconds to the next token."""
    match = LIMIT.fullmatch(response.headers["RateLimit"])
    assert match, response.headers["RateLimit"]
    return match[1], int(match[2]), int(match[3]) if match[3] else None


def assert_rate_limited(response: httpx.Response, policy: str, burst: int) -> int:
    """A 429 of the draft's shape for `policy`; return its Retry-After."""
    body = assert_problem(response, 429, "/problems/rate-limited")
    assert policy in body["detail"]
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) >= 1
    assert rate_limit(response) == (policy, 0, int(retry_after))
    match = POLICY.fullmatch(response.headers["RateLimit-Policy"])
    assert match and match[1] == policy and int(match[2]) == burst
    return int(retry_after)


def write(client: TestClient | httpx.Client, key: str | None) -> httpx.Response:
    """A write the API refuses (an empty body is a 422) but the limiter counts."""
    headers = bearer(key) if key else {}
    response: httpx.Response = client.post("/assessments", json={}, headers=headers)
    return response


# --- in process, through the app -----------------------------------------------------------


def test_the_read_after_the_burst_is_refused_with_the_draft_headers(
    seeded_settings: Settings,
) -> None:
    with TestClient(create_app(limited(seeded_settings, rate_limit_read_burst=3))) as client:
        served = [client.get(POSITIONS) for _ in range(3)]
        refused = client.get(POSITIONS)
    assert [r.status_code for r in served] == [200, 200, 200]
    # Cache hits (the second and third) cost what misses cost.
    assert [rate_limit(r)[:2] for r in served] == [("reads", 2), ("reads", 1), ("reads", 0)]
    assert all(r.headers["RateLimit-Policy"] == '"reads";q=3;w=3000' for r in served)
    # 1 token at 0.001/s is 1000 s, less what refilled while the burst was served (a slow
    # first miss on a loaded machine took over a second: 999).
    assert 990 < assert_rate_limited(refused, "reads", 3) <= 1000
    assert "ETag" not in refused.headers


def test_defaults_are_generous_and_advertised(seeded_settings: Settings) -> None:
    with TestClient(
        create_app(seeded_settings.model_copy(update={"rate_limit_enabled": True}))
    ) as c:
        responses = [c.get(POSITIONS) for _ in range(60)]
        posted = write(c, None)
    assert {r.status_code for r in responses} == {200}
    assert responses[0].headers["RateLimit-Policy"] == '"reads";q=100;w=2'
    assert rate_limit(responses[0])[:2] == ("reads", 99)
    assert posted.status_code == 401
    assert posted.headers["RateLimit-Policy"] == '"writes";q=50;w=5'


def test_not_modified_costs_a_tenth(seeded_settings: Settings) -> None:
    with TestClient(create_app(limited(seeded_settings, rate_limit_read_burst=5))) as client:
        first = client.get(POSITIONS)
        etag = first.headers["ETag"]
        revalidated = [client.get(POSITIONS, headers={"If-None-Match": etag}) for _ in range(20)]
        after = client.get(POSITIONS)
    # 20 revalidations cost 2 requests' worth: five plain requests would have emptied it.
    assert {r.status_code for r in revalidated} == {304}
    assert rate_limit(revalidated[0])[:2] == ("reads", 3)  # 5 - 1 - 0.1, floored
    assert rate_limit(revalidated[-1])[:2] == ("reads", 2)  # 5 - 1 - 2.0
    assert after.status_code == 200
    # A conditional request that is not a 304 pays in full.
    with TestClient(create_app(limited(seeded_settings, rate_limit_read_burst=2))) as client:
        stale = [client.get(POSITIONS, headers={"If-None-Match": '"old"'}) for _ in range(3)]
    assert [r.status_code for r in stale] == [200, 200, 429]


def test_trusted_proxy_names_the_client_and_each_has_a_bucket(seeded_settings: Settings) -> None:
    settings = limited(seeded_settings, rate_limit_read_burst=2, trusted_proxies=["127.0.0.1"])
    with TestClient(create_app(settings), client=("127.0.0.1", 40000)) as client:

        def via_proxy(chain: str) -> httpx.Response:
            response: httpx.Response = client.get(POSITIONS, headers={"X-Forwarded-For": chain})
            return response

        alice = [via_proxy("203.0.113.1") for _ in range(3)]
        bob = via_proxy("203.0.113.2")
        # What alice writes to the left of what the proxy appended does not move her.
        alice_spoofing = via_proxy("198.51.100.7, 203.0.113.1")
        # The proxy's own requests (no header) are its own client.
        proxy_itself = client.get(POSITIONS)
    assert [r.status_code for r in alice] == [200, 200, 429]
    assert bob.status_code == 200
    assert_rate_limited(alice_spoofing, "reads", 2)
    assert proxy_itself.status_code == 200


def test_an_ipv6_client_is_counted_per_64(seeded_settings: Settings) -> None:
    settings = limited(seeded_settings, rate_limit_read_burst=1, trusted_proxies=["::1"])
    with TestClient(create_app(settings), client=("::1", 40000)) as client:
        first = client.get(POSITIONS, headers={"X-Forwarded-For": "2001:db8:1:2::1"})
        same_64 = client.get(POSITIONS, headers={"X-Forwarded-For": "2001:db8:1:2:ffff::9"})
        other_64 = client.get(POSITIONS, headers={"X-Forwarded-For": "2001:db8:1:3::1"})
    assert first.status_code == 200
    assert_rate_limited(same_64, "reads", 1)
    assert other_64.status_code == 200


def test_writes_are_counted_per_key(seeded_settings: Settings) -> None:
    first, second = (
        make_key(seeded_settings, "rl-first", KeyScope.write),
        make_key(seeded_settings, "rl-second", KeyScope.write),
    )
    settings = limited(seeded_settings, rate_limit_write_burst=2)
    with TestClient(create_app(settings)) as client:
        by_first = [write(client, first) for _ in range(3)]
        by_second = write(client, second)
        keyless = write(client, None)
        reads = client.get(POSITIONS)
    assert [r.status_code for r in by_first] == [422, 422, 429]
    assert_rate_limited(by_first[-1], "writes", 2)
    assert rate_limit(by_first[0])[:2] == ("writes", 1)
    assert by_second.status_code == 422
    assert keyless.status_code == 401  # the address's own write bucket, still full
    assert reads.status_code == 200  # writes and reads are separate policies


def test_inventing_keys_buys_no_fresh_bucket(seeded_settings: Settings) -> None:
    real = make_key(seeded_settings, "rl-real", KeyScope.write)
    with TestClient(create_app(limited(seeded_settings, rate_limit_write_burst=2))) as client:
        invented = [write(client, f"cpk_{secrets.token_hex(6)}_{secrets.token_urlsafe(8)}")]
        invented += [write(client, f"cpk_{secrets.token_hex(6)}_x") for _ in range(2)]
        # The address is now locked out of writes, whatever key it sends (documented).
        with_real_key = write(client, real)
    assert [r.status_code for r in invented] == [401, 401, 429]
    assert_rate_limited(invented[-1], "writes", 2)
    assert with_real_key.status_code == 429


def test_the_off_switch(seeded_settings: Settings) -> None:
    settings = limited(seeded_settings, rate_limit_read_burst=1).model_copy(
        update={"rate_limit_enabled": False}
    )
    with TestClient(create_app(settings)) as client:
        responses = [client.get(POSITIONS) for _ in range(5)]
    assert {r.status_code for r in responses} == {200}
    assert all("RateLimit" not in r.headers for r in responses)


def test_probes_are_never_limited(seeded_settings: Settings) -> None:
    with TestClient(create_app(limited(seeded_settings, rate_limit_read_burst=1))) as client:
        assert client.get(POSITIONS).status_code == 200
        assert client.get(POSITIONS).status_code == 429
        probes = [client.get(path) for path in ("/healthz", "/readyz") * 5]
    assert {r.status_code for r in probes} == {200}
    assert all("RateLimit" not in r.headers for r in probes)


def test_a_cross_origin_page_can_read_its_429(seeded_settings: Settings) -> None:
    with TestClient(create_app(limited(seeded_settings, rate_limit_read_burst=1))) as client:
        origin = {"Origin": "https://dashboard.example"}
        served = client.get(POSITIONS, headers=origin)
        refused = client.get(POSITIONS, headers=origin)
    exposed = {
        h.strip().lower() for h in served.headers["Access-Control-Expose-Headers"].split(",")
    }
    assert {"ratelimit", "ratelimit-policy"} <= exposed
    assert_rate_limited(refused, "reads", 1)
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert "retry-after" in refused.headers["Access-Control-Expose-Headers"].lower()


def test_in_process_buckets_are_bounded() -> None:
    buckets = MemoryBuckets(max_clients=3)
    policy = Policy("reads", FROZEN, 1)
    for n in range(100):
        assert buckets.charge_now(f"reads:ip:198.51.100.{n}", policy, 1).allowed
    assert len(buckets) == 3
    # The most recent are kept: the last address is still empty, the first forgotten.
    assert not buckets.charge_now("reads:ip:198.51.100.99", policy, 1).allowed
    assert buckets.charge_now("reads:ip:198.51.100.0", policy, 1).allowed


# --- a real server ---------------------------------------------------------------------------


def _client_from(base: str, address: str) -> httpx.Client:
    """A client whose TCP connections come from `address` (any 127/8 address is local)."""
    return httpx.Client(
        base_url=base, timeout=10, transport=httpx.HTTPTransport(local_address=address)
    )


def test_a_real_server_refuses_then_serves_after_retry_after(seeded_settings: Settings) -> None:
    env = {
        "CP_RATE_LIMIT_ENABLED": "true",
        "CP_RATE_LIMIT_READS_PER_SECOND": "2",
        "CP_RATE_LIMIT_READ_BURST": "3",
    }
    with (
        running_server(seeded_settings.database_url, extra_env=env) as base,
        _client_from(base, "127.0.0.2") as client,
    ):
        # At 2 tokens a second the bucket empties after a few more than 3 requests.
        statuses: list[int] = []
        while 429 not in statuses and len(statuses) < 50:
            refused = client.get(POSITIONS)
            statuses.append(refused.status_code)
        assert statuses.count(200) >= 3 and statuses[-1] == 429, statuses
        retry_after = assert_rate_limited(refused, "reads", 3)
        assert retry_after == 1
        time.sleep(retry_after)
        assert client.get(POSITIONS).status_code == 200


def test_a_real_server_ignores_forwarded_for_from_an_untrusted_peer(
    seeded_settings: Settings,
) -> None:
    env = {
        "CP_RATE_LIMIT_ENABLED": "true",
        "CP_RATE_LIMIT_READS_PER_SECOND": str(FROZEN),
        "CP_RATE_LIMIT_READ_BURST": "2",
        # Only 127.0.0.3 is a proxy: 127.0.0.2 is an ordinary client.
        "CP_TRUSTED_PROXIES": '["127.0.0.3"]',
    }
    with (
        running_server(seeded_settings.database_url, extra_env=env) as base,
        _client_from(base, "127.0.0.2") as client,
        _client_from(base, "127.0.0.3") as proxy,
    ):
        own = [client.get(POSITIONS) for _ in range(2)]
        forged = [
            client.get(POSITIONS, headers={"X-Forwarded-For": f"203.0.113.{n}"}) for n in range(3)
        ]
        proxied = [
            proxy.get(POSITIONS, headers={"X-Forwarded-For": f"203.0.113.{n}"}) for n in range(3)
        ]
    assert [r.status_code for r in own] == [200, 200]
    for response in forged:
        assert_rate_limited(response, "reads", 2)
    assert [r.status_code for r in proxied] == [200, 200, 200]


# --- Redis -----------------------------------------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key namespace private to this test, on the Redis at 127.0.0.1:6379 (deleted after)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"Redis not reachable at {REDIS_URL}: {exc.__class__.__name__}"
        client.close()
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"{reason} (REQUIRE_REDIS=1)")
        pytest.skip(f"{reason}; start redis-server to run the shared-bucket tests")
    prefix = f"cp:test:{uuid.uuid4().hex}:"
    try:
        yield prefix
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
    finally:
        client.close()


def test_two_instances_share_one_bucket_through_redis(
    seeded_settings: Settings, redis_prefix: str
) -> None:
    settings = limited(
        seeded_settings,
        rate_limit_read_burst=3,
        redis_url=REDIS_URL,
        rate_limit_prefix=redis_prefix,
    )
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        served = [one.get(POSITIONS), two.get(POSITIONS), one.get(POSITIONS)]
        refused = [two.get(POSITIONS), one.get(POSITIONS)]
    assert [r.status_code for r in served] == [200, 200, 200]
    assert [rate_limit(r)[1] for r in served] == [2, 1, 0]
    for response in refused:
        assert_rate_limited(response, "reads", 3)
    # The bucket expires once it would be full again, so idle clients leave nothing behind.
    with redis.Redis.from_url(REDIS_URL) as client:
        keys = list(client.scan_iter(match=redis_prefix + "*"))
        assert len(keys) == 1
        ttl_ms = client.pttl(keys[0])
    assert 0 < ttl_ms <= (3 / FROZEN + 1) * 1000


def test_writes_per_key_through_redis(seeded_settings: Settings, redis_prefix: str) -> None:
    first, second = (
        make_key(seeded_settings, "rl-redis-1", KeyScope.write),
        make_key(seeded_settings, "rl-redis-2", KeyScope.write),
    )
    settings = limited(
        seeded_settings,
        rate_limit_write_burst=1,
        redis_url=REDIS_URL,
        rate_limit_prefix=redis_prefix,
    )
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        assert write(one, first).status_code == 422
        assert_rate_limited(write(two, first), "writes", 1)
        assert write(two, second).status_code == 422
    with redis.Redis.from_url(REDIS_URL) as client:
        keys = {k.decode() for k in client.scan_iter(match=redis_prefix + "*")}
    # Keys are stored by hash: neither plaintext appears in Redis.
    assert not any(first in k or second in k for k in keys)


def test_fails_open_to_in_process_buckets_when_redis_is_unreachable(
    seeded_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = limited(seeded_settings, rate_limit_read_burst=3, redis_url=closed)
    with (
        caplog.at_level(logging.WARNING, logger="app.middleware.rate_limit"),
        TestClient(create_app(settings)) as client,
    ):
        responses = [client.get(POSITIONS) for _ in range(4)]
        probe = client.get("/readyz")
    # Served, not failed: the instance limits on its own until Redis is back.
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert_rate_limited(responses[-1], "reads", 3)
    assert probe.status_code == 200
    warnings = [r for r in caplog.records if r.name == "app.middleware.rate_limit"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "Redis unreachable" in warnings[0].getMessage()
