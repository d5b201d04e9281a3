"""Conditional GET (app/middleware/http_cache.py): ETag, 304, Cache-Control and HEAD."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.vocabulary import KeyScope
from tests.factories import (
    CHART,
    SEEDS,
    SERBIA_TRAINING_EVIDENCE,
    bearer,
    edited_seeds,
    load_seed_folder,
    make_key,
)
from tests.problems import assert_problem

DEFAULT_CACHE_CONTROL = "public, max-age=60"
EDITED_EVIDENCE = "The chart shows Serbia declined to train Ukrainian troops."
# Successful reads of data, each with a different shape of response.
DATA_READS = (
    "/positions",
    "/positions?format=csv",
    "/positions?format=ndjson",
    "/stats",
    "/countries",
    "/countries?format=csv",
    "/countries/RS",
    "/countries/RS/positions",
    "/countries/RS/assessments",
    "/countries/RS/assessments?format=csv",
    "/categories",
    "/categories/training",
    "/sources",
    f"/sources/{CHART}",
)


def test_data_reads_carry_etag_and_default_cache_control(client: TestClient) -> None:
    for url in DATA_READS:
        response = client.get(url)
        assert response.status_code == 200, url
        # A single source or assessment carries its row version (strong, what If-Match
        # needs); everything else a weak tag of the dataset revision.
        strong = url.startswith(("/sources/", "/assessments/"))
        assert response.headers["etag"].startswith('"' if strong else 'W/"'), url
        assert response.headers["cache-control"] == DEFAULT_CACHE_CONTROL, url
        assert "Accept" in response.headers["vary"], url


def test_cache_control_follows_configured_max_age(seeded_settings: Settings) -> None:
    settings = seeded_settings.model_copy(update={"cache_max_age": 5})
    with TestClient(create_app(settings)) as client:
        response = client.get("/positions")
        assert response.headers["cache-control"] == "public, max-age=5"
        again = client.get("/positions", headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304
        assert again.headers["cache-control"] == "public, max-age=5"


def test_if_none_match_with_the_etag_is_304(client: TestClient) -> None:
    for url in DATA_READS:
        first = client.get(url)
        etag = first.headers["etag"]
        response = client.get(url, headers={"If-None-Match": etag})
        assert response.status_code == 304, url
        assert response.content == b"", url
        assert response.headers["etag"] == etag, url
        assert response.headers["cache-control"] == DEFAULT_CACHE_CONTROL, url


def test_if_none_match_compares_weakly_and_accepts_a_list(client: TestClient) -> None:
    etag = client.get("/stats").headers["etag"]
    strong = etag.removeprefix("W/")
    assert client.get("/stats", headers={"If-None-Match": strong}).status_code == 304
    listed = f'"something-else", {etag}'
    assert client.get("/stats", headers={"If-None-Match": listed}).status_code == 304


def test_if_none_match_with_another_tag_is_200(client: TestClient) -> None:
    response = client.get("/stats", headers={"If-None-Match": 'W/"r1-not-this-one"'})
    assert response.status_code == 200
    assert response.json()["countries"] == 39
    assert response.headers["etag"] != 'W/"r1-not-this-one"'


def test_etag_differs_by_query_and_accept(client: TestClient) -> None:
    tags = {
        client.get("/positions").headers["etag"],
        client.get("/positions", params={"limit": 2}).headers["etag"],
        client.get("/positions", params={"as_of": "2023-01-01"}).headers["etag"],
        client.get("/positions", params={"format": "csv"}).headers["etag"],
        client.get("/positions", headers={"Accept": "text/csv"}).headers["etag"],
        client.get("/positions", headers={"Accept": "application/x-ndjson"}).headers["etag"],
        client.get("/countries").headers["etag"],
    }
    assert len(tags) == 7
    csv_tag = client.get("/positions", headers={"Accept": "text/csv"}).headers["etag"]
    as_json = client.get("/positions", headers={"If-None-Match": csv_tag})
    assert as_json.status_code == 200


def _once_the_write_arrives(client: TestClient, url: str, old_tag: str) -> httpx.Response:
    """`url` revalidated against `old_tag` once this instance has heard of a write made by
    another process. On PostgreSQL that news is a NOTIFY, which lands milliseconds after the
    writer's commit (README: Scaling out), so a read straight after the commit may still
    get the old revision's 304; the wait is bounded, and the last answer is returned."""
    deadline = time.monotonic() + 3.0
    while True:
        response: httpx.Response = client.get(url, headers={"If-None-Match": old_tag})
        if response.status_code != 304 or time.monotonic() > deadline:
            return response
        time.sleep(0.01)


def test_etag_changes_when_the_data_changes(
    client: TestClient, seeded_settings: Settings, tmp_path: Path
) -> None:
    url = "/countries/RS/assessments"
    old_tag = client.get(url).headers["etag"]
    old_stats_tag = client.get("/stats").headers["etag"]
    load_seed_folder(
        seeded_settings, edited_seeds(tmp_path, SERBIA_TRAINING_EVIDENCE, EDITED_EVIDENCE)
    )
    after = _once_the_write_arrives(client, url, old_tag)
    assert after.status_code == 200
    new_tag = after.headers["etag"]
    assert new_tag != old_tag
    evidence = {item["evidence"] for item in after.json()["items"]}
    assert "The chart shows Serbia declined to train Ukrainian troops." in evidence
    assert client.get(url, headers={"If-None-Match": new_tag}).status_code == 304
    # Every data read moves to the new revision, not only the one whose rows changed.
    stats = client.get("/stats", headers={"If-None-Match": old_stats_tag})
    assert stats.status_code == 200
    assert stats.headers["etag"] != old_stats_tag


def test_etag_kept_when_seeds_are_reloaded_unchanged(
    client: TestClient, seeded_settings: Settings
) -> None:
    etag = client.get("/positions").headers["etag"]
    load_seed_folder(seeded_settings, SEEDS)
    response = client.get("/positions", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["etag"] == etag


def test_etag_changes_after_an_api_write(client: TestClient, seeded_settings: Settings) -> None:
    key = make_key(seeded_settings, "test-write", KeyScope.write)
    old_tag = client.get("/positions").headers["etag"]
    response = client.post(
        "/assessments",
        json={
            "country": "DE",
            "category": "training",
            "value": "yes",
            "source": CHART,
            "as_of": "2023-03-02",
            "evidence": "Test evidence.",
        },
        headers=bearer(key),
    )
    assert response.status_code == 201, response.text
    after = client.get("/positions", headers={"If-None-Match": old_tag})
    assert after.status_code == 200
    assert after.headers["etag"] != old_tag


def test_errors_carry_no_store_and_no_etag(client: TestClient) -> None:
    for url, status in (
        ("/countries/ZZ", 404),
        ("/countries/ZZ/assessments", 404),
        ("/positions?source=no-such-source", 404),
        ("/positions?category=morale", 422),
        ("/positions?format=xml", 406),
        ("/no-such-route", 404),
    ):
        response = client.get(url)
        assert_problem(response, status)
        assert response.headers["cache-control"] == "no-store", url
        assert "etag" not in response.headers, url


def test_health_probes_are_no_store(client: TestClient) -> None:
    for url in ("/healthz", "/readyz"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert response.headers["cache-control"] == "no-store", url
        assert "etag" not in response.headers, url
        assert client.get(url, headers={"If-None-Match": "*"}).status_code == 200, url


def test_if_none_match_star_on_a_missing_resource_is_404(client: TestClient) -> None:
    # RFC 9110 §13.1.2: `*` matches only when a current representation exists.
    for url in ("/countries/ZZ", "/no-such-route"):
        response = client.get(url, headers={"If-None-Match": "*"})
        assert response.status_code == 404, (url, response.status_code)
        assert_problem(response, 404)


def test_conditional_get_still_needs_a_key_when_reads_need_one(
    seeded_settings: Settings,
) -> None:
    settings = seeded_settings.model_copy(update={"require_key_for_reads": True})
    key = make_key(settings, "test-write", KeyScope.write)
    with TestClient(create_app(settings)) as client:
        authorised = client.get("/positions", headers=bearer(key))
        assert authorised.status_code == 200
        etag = authorised.headers["etag"]
        anonymous = client.get("/positions", headers={"If-None-Match": etag})
        assert anonymous.status_code == 401, anonymous.status_code
        assert_problem(anonymous, 401, "/problems/unauthorized")


def test_reads_behind_a_key_are_not_cacheable_by_shared_caches(
    seeded_settings: Settings,
) -> None:
    # RFC 9111 §3.5: `public` lets a shared cache serve an authorised response to anyone.
    settings = seeded_settings.model_copy(update={"require_key_for_reads": True})
    key = make_key(settings, "test-write", KeyScope.write)
    with TestClient(create_app(settings)) as client:
        response = client.get("/positions", headers=bearer(key))
        assert response.status_code == 200
        assert "public" not in response.headers["cache-control"]


def test_single_assessment_etag_is_the_one_if_match_needs(
    client: TestClient, seeded_settings: Settings
) -> None:
    key = make_key(seeded_settings, "test-write", KeyScope.write)
    assessment_id = client.get("/countries/RS/assessments").json()["items"][0]["id"]
    url = f"/assessments/{assessment_id}"
    etag = client.get(url).headers["etag"]
    response = client.patch(
        url,
        json={"note": "Checked again."},
        headers={"Authorization": f"Bearer {key}", "If-Match": etag},
    )
    assert response.status_code == 200, response.text
    assert response.json()["note"] == "Checked again."


def test_head_matches_get_without_a_body(client: TestClient) -> None:
    identity = {"Accept-Encoding": "identity"}
    for url in (*DATA_READS, "/", "/static/chart.js", "/healthz"):
        get = client.get(url, headers=identity)
        head = client.head(url, headers=identity)
        assert head.status_code == get.status_code == 200, url
        assert head.content == b"", url
        for name in ("content-type", "etag", "cache-control", "x-total-count", "link"):
            assert head.headers.get(name) == get.headers.get(name), (url, name)
        if "content-length" in get.headers:
            assert head.headers["content-length"] == str(len(get.content)), url


def test_head_of_a_missing_resource_is_404_without_a_body(client: TestClient) -> None:
    get = client.get("/countries/ZZ")
    head = client.head("/countries/ZZ")
    assert head.status_code == 404
    assert head.content == b""
    assert head.headers["content-type"] == "application/problem+json"
    assert head.headers["cache-control"] == "no-store"
    assert "etag" not in head.headers
    assert head.headers["content-length"] == str(len(get.content))


def test_head_with_if_none_match_is_304(client: TestClient) -> None:
    etag = client.get("/positions").headers["etag"]
    response = client.head("/positions", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert client.head("/positions").headers["etag"] == etag
