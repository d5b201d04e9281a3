"""`/metrics` in the Prometheus text format: it parses, and its figures move with traffic."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from app.settings import Settings
from tests.problems import assert_problem

POSITIONS_ROUTE = "/countries/{code}/positions"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests_of(text: str, route: str, status: str, method: str = "GET") -> float:
    key = ("cp_http_requests_total", (("method", method), ("route", route), ("status", status)))
    return samples(text).get(key, 0.0)


def scrape(client: TestClient | httpx.Client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert "access-control-allow-origin" not in response.headers
    return response.text


def test_metrics_parse_and_count_requests_by_route_method_status(client: TestClient) -> None:
    before = scrape(client)
    for code in ("AT", "BE", "AT"):
        assert client.get(f"/countries/{code}/positions").status_code == 200
    client.get("/countries/ZZ/positions")
    after = scrape(client)
    assert (
        requests_of(after, POSITIONS_ROUTE, "200") - requests_of(before, POSITIONS_ROUTE, "200")
        == 3
    )
    assert (
        requests_of(after, POSITIONS_ROUTE, "404") - requests_of(before, POSITIONS_ROUTE, "404")
        == 1
    )
    values = samples(after)
    count = (
        "cp_http_request_duration_seconds_count",
        (("method", "GET"), ("route", POSITIONS_ROUTE)),
    )
    assert values[count] == 4
    assert values[("cp_response_cache_hits_total", ())] >= 1  # the second AT
    assert values[("cp_response_cache_misses_total", ())] >= 2
    assert values[("cp_response_cache_entries", ())] >= 2
    assert values[("cp_response_cache_bytes", ())] > 0
    assert values[("cp_db_pool_in_use", ())] == 0
    assert values[("cp_db_pool_waiting", ())] == 0
    assert values[("cp_admission_in_use", ())] == 0
    assert values[("cp_dataset_revision", ())] >= 1


def test_revision_switch_counts_evictions(client: TestClient, seeded_settings: Settings) -> None:
    from tests.factories import make_key

    client.get("/countries/AT")
    key = make_key(seeded_settings, "metrics")
    response = client.post(
        "/sources",
        json={
            "id": "metrics-source",
            "title": "A source",
            "kind": "official_statement",
            "published_on": "2023-04-12",
            "verification_status": "verified",
        },
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201, response.text
    client.get("/countries/AT")
    values = samples(scrape(client))
    assert values[("cp_response_cache_evictions_total", (("reason", "revision"),))] >= 1


def test_listener_gauge_only_where_there_is_a_listener(client: TestClient) -> None:
    values = samples(scrape(client))
    listener = ("cp_revision_listener_connected", ())
    if client.app.state.settings.is_sqlite:  # type: ignore[attr-defined]
        assert listener not in values
    else:
        assert values[listener] == 1


@pytest.mark.parametrize(
    "headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}]
)
def test_metrics_are_not_served_cross_origin(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/metrics", headers=headers)
    problem = assert_problem(response, 403)
    assert problem["type"] == "/problems/forbidden"
    assert "access-control-allow-origin" not in response.headers


@pytest.fixture
def unmetered(seeded_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(seeded_settings.model_copy(update={"metrics_enabled": False}))) as c:
        yield c


def test_metrics_can_be_turned_off(unmetered: TestClient) -> None:
    assert_problem(unmetered.get("/metrics"), 404)
    assert unmetered.get("/countries/RS/positions").status_code == 200


def test_rate_limited_and_shed_requests_are_counted(seeded_settings: Settings) -> None:
    settings = seeded_settings.model_copy(
        update={
            "rate_limit_enabled": True,
            "rate_limit_read_burst": 2,
            "rate_limit_reads_per_second": 0.001,
        }
    )
    with TestClient(create_app(settings)) as client:
        statuses = [client.get("/countries/RS").status_code for _ in range(4)]
        assert statuses == [200, 200, 429, 429]
        text = scrape(client)
    values = samples(text)
    assert values[("cp_requests_rate_limited_total", ())] == 2
    assert values[("cp_requests_shed_total", ())] == 0
    assert requests_of(text, "/countries/{code}", "429") == 2


def test_an_overloaded_answer_counts_as_shed() -> None:
    """What the admission gate answers (tests/load/test_admission_gate.py makes it) is a
    503 with the overloaded problem type; that type is what the counter counts."""
    from app.middleware.admission import OVERLOADED
    from app.observability.metrics import Metrics

    metrics = Metrics()
    metrics.observe_request("/positions", "GET", 503, 0.01, None, OVERLOADED)
    metrics.observe_request("/positions", "GET", 503, 0.01, None, "/problems/service-unavailable")
    values = samples(metrics.exposition().decode())
    assert values[("cp_requests_shed_total", ())] == 1
    assert requests_of(metrics.exposition().decode(), "/positions", "503") == 2


def test_batched_latencies_read_as_if_observed_one_by_one() -> None:
    """Counts reach prometheus-client in batches (app.observability.metrics.flush, which
    writes the histogram's own buckets); the exposition is what observe() would give."""
    from prometheus_client import CollectorRegistry, Histogram

    from app.observability.metrics import LATENCY_BUCKETS, Metrics

    latencies = [0.0001, 0.0005, 0.0007, 0.003, 0.003, 0.2, 1.0, 7.0, 30.0]
    metrics = Metrics()
    for seconds in latencies:
        metrics.observe_request("/positions", "GET", 200, seconds, "hit", None)
    registry = CollectorRegistry()
    expected = Histogram(
        "cp_http_request_duration_seconds", "", ["route", "method"],
        buckets=LATENCY_BUCKETS, registry=registry,
    )  # fmt: skip
    for seconds in latencies:
        expected.labels("/positions", "GET").observe(seconds)
    from prometheus_client import generate_latest

    mine = {k: v for k, v in samples(metrics.exposition().decode()).items() if "duration" in k[0]}
    assert mine == samples(generate_latest(registry).decode())
    assert requests_of(metrics.exposition().decode(), "/positions", "200") == len(latencies)
    assert samples(metrics.exposition().decode())[("cp_response_cache_hits_total", ())] == 9
