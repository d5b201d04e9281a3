"""The cache-first read path: identical answers, bounded memory, never stale after a write."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.middleware.response_cache import BoundedCache
from app.settings import Settings
from app.vocabulary import KeyScope
from tests.factories import ARTICLE, CHART, bearer, edited_seeds, load_seed_folder, make_key
from tests.servers import running_server

# Per request by design: the request id and Server-Timing (app.observability) are not replayed.
HEADERS_THAT_VARY = {"date", "server", "x-request-id", "server-timing"}


def _cache(client: TestClient) -> BoundedCache:
    cache = client.app.state.response_cache  # type: ignore[attr-defined]  # Starlette app
    assert isinstance(cache, BoundedCache)
    return cache


def _comparable(response: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    headers = {k: v for k, v in response.headers.items() if k not in HEADERS_THAT_VARY}
    return response.status_code, headers, response.content


def _wait_for(predicate_url: str, client: httpx.Client | TestClient, needle: str) -> str:
    """Poll for up to one second (the cross-process bound); return the body seen last."""
    deadline = time.monotonic() + 1.0
    while True:
        body = client.get(predicate_url).text
        if needle in body or time.monotonic() > deadline:
            return body
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/countries/RS/positions", {}),
        ("/positions?format=csv", {}),
        ("/positions", {"Accept-Encoding": "gzip"}),
        ("/positions", {"Origin": "https://example.org"}),
        ("/countries?limit=2&offset=2", {"Accept": "text/csv"}),
        (f"/sources/{CHART}", {}),
    ],
)
def test_cache_hit_replays_the_full_stack_exactly(
    client: TestClient, path: str, headers: dict[str, str]
) -> None:
    miss = client.get(path, headers=headers)
    entries = len(_cache(client))
    hit = client.get(path, headers=headers)
    assert entries >= 1 and len(_cache(client)) == entries  # the second one was a hit
    assert _comparable(hit) == _comparable(miss)
    not_modified = client.get(path, headers={**headers, "If-None-Match": miss.headers["etag"]})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == miss.headers["etag"]
    head = client.head(path, headers=headers)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == miss.headers["etag"]


def test_cache_is_bounded_by_entries_when_crawled(seeded_settings: Settings) -> None:
    settings = seeded_settings.model_copy(update={"cache_max_entries": 5})
    with TestClient(create_app(settings)) as client:
        start = date(2023, 1, 1)
        for day in range(40):
            as_of = (start + timedelta(days=day)).isoformat()
            assert client.get(f"/countries/RS/positions?as_of={as_of}").status_code == 200
            assert len(_cache(client)) <= 5
        assert len(_cache(client)) == 5


def test_cache_is_bounded_by_bytes(seeded_settings: Settings) -> None:
    settings = seeded_settings.model_copy(update={"cache_max_bytes": 8 * 1024})
    with TestClient(create_app(settings)) as client:
        for code in ("RS", "AT", "MT", "DE", "FR", "IT", "ES", "PL"):
            client.get(f"/countries/{code}/positions")
            assert _cache(client).bytes <= 8 * 1024
        client.get("/positions")  # bigger than the whole budget: never stored
        assert _cache(client).bytes <= 8 * 1024


def test_a_response_over_an_eighth_of_the_budget_is_never_stored(
    seeded_settings: Settings,
) -> None:
    """Regression (issue 10): a big export was buffered whole while it streamed, and
    could push everything else out of the cache."""
    settings = seeded_settings.model_copy(update={"cache_max_bytes": 64 * 1024})
    with TestClient(create_app(settings)) as client:
        plain = {"Accept-Encoding": "identity"}
        small = client.get("/countries/DE/positions", headers=plain)
        assert len(small.content) < 8 * 1024
        big = client.get("/positions?limit=500", headers=plain)
        assert len(big.content) > 8 * 1024
        cache = _cache(client)
        assert len(cache) == 1 and cache.bytes < 8 * 1024


def test_cache_never_serves_stale_after_an_api_write(seeded_settings: Settings) -> None:
    key = make_key(seeded_settings, "curator", KeyScope.admin)
    with TestClient(create_app(seeded_settings)) as client:
        before = client.get("/countries/RS/positions")
        assert client.get("/countries/RS/positions").headers["etag"] == before.headers["etag"]
        created = client.post(
            "/assessments",
            headers=bearer(key),
            json={
                "country": "RS",
                "category": "training",
                "value": "yes",
                "source": ARTICLE,
                "as_of": "2023-05-01",
                "evidence": "A later report of Serbian training.",
            },
        )
        assert created.status_code == 201, created.text
        after = client.get("/countries/RS/positions")
        assert after.headers["etag"] != before.headers["etag"]
        assert after.json()["positions"][0]["value"] == "yes"
        assert after.json()["positions"][0]["disputed"] is True
        stale = client.get(
            "/countries/RS/positions", headers={"If-None-Match": before.headers["etag"]}
        )
        assert stale.status_code == 200


def test_cache_sees_a_seed_run_from_another_process(
    seeded_settings: Settings, tmp_path: Path
) -> None:
    with TestClient(create_app(seeded_settings)) as client:
        assert "Malta No" in client.get("/countries/MT/positions").text
        load_seed_folder(seeded_settings, edited_seeds(tmp_path, "Malta No", "Malta NO (edited)"))
        assert "Malta NO (edited)" in _wait_for("/countries/MT/positions", client, "(edited)")


@pytest.fixture
def two_servers(seeded_settings: Settings) -> Iterator[tuple[str, str]]:
    """Two servers on one database (PostgreSQL only: the tests using it are postgres_only)."""
    with (
        running_server(seeded_settings.database_url) as first,
        running_server(seeded_settings.database_url) as second,
    ):
        yield first, second


@pytest.mark.postgres_only
def test_write_through_one_instance_is_visible_on_another_within_a_second(
    two_servers: tuple[str, str], seeded_settings: Settings
) -> None:
    first, second = two_servers
    key = make_key(seeded_settings, "curator", KeyScope.write)
    with httpx.Client(base_url=first) as one, httpx.Client(base_url=second) as other:
        warm = other.get("/countries/AT/positions")  # now cached on the second instance
        assert other.get("/countries/AT/positions").headers["etag"] == warm.headers["etag"]
        created = one.post(
            "/assessments",
            headers=bearer(key),
            json={
                "country": "AT",
                "category": "future_will",
                "value": "decreasing",
                "source": ARTICLE,
                "as_of": "2023-06-01",
                "evidence": "A later report of waning will.",
            },
        )
        assert created.status_code == 201, created.text
        body = _wait_for("/countries/AT/positions", other, "decreasing")
        assert '"value":"decreasing"' in body
