"""`RateLimit` and `RateLimit-Policy` are sent exactly once on every limited response
(review of issue 10: `GET /` was seen with each twice): a cache miss, a cache hit, a 304
(from the cache and from the conditional-GET layer), the page, a static file, a HEAD, a
404, a cross-origin read, a write and the 429 itself; through `country-positions serve`.

The limiter is the outermost layer and replaces any of its headers a response already
carries, so an inner layer that kept or replayed a response (the response cache, a 304)
can never make it send them twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from app.middleware.rate_limit.buckets import MemoryBuckets, Policy
from app.middleware.rate_limit.middleware import RateLimitMiddleware
from app.settings import Settings
from tests.servers import running_server

HEADERS = ("ratelimit", "ratelimit-policy")
BURST = 30
POSITIONS = "/countries/RS/positions"
UNCACHED = "/countries/MT/positions?as_of=2023-01-01"


@pytest.fixture
def base(seeded_settings: Settings) -> Iterator[str]:
    env = {
        "CP_RATE_LIMIT_ENABLED": "true",
        "CP_RATE_LIMIT_READ_BURST": str(BURST),
        "CP_RATE_LIMIT_READS_PER_SECOND": "0.001",  # nothing refills during the test
    }
    with running_server(seeded_settings.database_url, extra_env=env) as url:
        yield url


def assert_once(response: httpx.Response, what: str) -> None:
    for name in HEADERS:
        values = response.headers.get_list(name)
        assert len(values) == 1, (what, name, values)


def test_each_rate_limit_header_is_sent_once_on_every_kind_of_response(base: str) -> None:
    seen: dict[str, httpx.Response] = {}
    with httpx.Client(base_url=base, timeout=10) as client:
        for what, path in (
            ("miss", POSITIONS),
            ("hit", POSITIONS),
            ("page", "/"),
            ("page hit", "/"),
            ("static", "/static/chart.js"),
            ("static again", "/static/chart.js"),
            ("404", "/countries/ZZ/positions"),
        ):
            seen[what] = client.get(path)
        etag = seen["hit"].headers["etag"]
        seen["304 from the cache"] = client.get(POSITIONS, headers={"If-None-Match": etag})
        seen["304 of the page"] = client.get(
            "/", headers={"If-None-Match": seen["page"].headers["etag"]}
        )
        seen["304 of a static file"] = client.get(
            "/static/chart.js", headers={"If-None-Match": seen["static"].headers["etag"]}
        )
        # A HEAD fills no cache entry, so its tag then gets a 304 from the layer below.
        seen["HEAD"] = client.head(UNCACHED)
        seen["304 from conditional GET"] = client.get(
            UNCACHED, headers={"If-None-Match": seen["HEAD"].headers["etag"]}
        )
        seen["cross-origin"] = client.get(POSITIONS, headers={"Origin": "https://a.example"})
        seen["compressed"] = client.get("/positions", headers={"Accept-Encoding": "gzip"})
        seen["write"] = client.post("/assessments", json={})
        refused = [client.get(POSITIONS) for _ in range(BURST)]
    statuses = {what: r.status_code for what, r in seen.items()}
    assert statuses == {
        "miss": 200,
        "hit": 200,
        "page": 200,
        "page hit": 200,
        "static": 200,
        "static again": 200,
        "404": 404,
        "304 from the cache": 304,
        "304 of the page": 304,
        "304 of a static file": 304,
        "HEAD": 200,
        "304 from conditional GET": 304,
        "cross-origin": 200,
        "compressed": 200,
        "write": 401,
    }
    assert seen["hit"].headers["etag"] == seen["miss"].headers["etag"]
    assert seen["compressed"].headers["content-encoding"] == "gzip"
    for what, response in seen.items():
        assert_once(response, what)
    assert refused[-1].status_code == 429
    assert_once(refused[-1], "429")
    assert refused[-1].headers["ratelimit"].startswith('"reads";r=0;')


def test_headers_a_response_already_carries_are_replaced_not_repeated() -> None:
    """An inner layer replaying a stored response with the limiter's headers in it (what
    a response cache keeping the limiter's message would do) still gets each header once."""

    async def replaying(scope: Scope, receive: Receive, send: Send) -> None:
        stale = [(b"ratelimit", b'"reads";r=7;t=1'), (b"RateLimit-Policy", b'"reads";q=9;w=9')]
        await send({"type": "http.response.start", "status": 200, "headers": stale})
        await send({"type": "http.response.body", "body": b"{}"})

    policy = Policy("reads", 0.001, 5)
    app = RateLimitMiddleware(
        replaying, store=MemoryBuckets(max_clients=10), reads=policy, writes=policy, cors_origins=[]
    )

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/anything")

    response = asyncio.run(get())
    assert response.headers.get_list("ratelimit") == ['"reads";r=4;t=1000']
    assert response.headers.get_list("ratelimit-policy") == ['"reads";q=5;w=5000']
