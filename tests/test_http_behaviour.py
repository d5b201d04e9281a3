"""HTTP around the data: negotiation (406), pagination headers, ETag/304, Cache-Control,
HEAD, gzip, CORS, and the chart page."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api_keys.service import create_key
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.seeding.loader import load_seeds
from app.settings import Settings
from app.vocabulary import KeyScope
from tests.conftest import SEEDS
from tests.problems import assert_problem

CSV_TYPE = "text/csv; charset=utf-8; header=present"
DEFAULT_CACHE_CONTROL = "public, max-age=60"
ORIGIN = "https://example.org"
OTHER_ORIGIN = "https://elsewhere.example"

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
    "/sources/us-europe-response-chart-2023",
)
NOT_ACCEPTABLE = "/problems/not-acceptable"


def _app_client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


def _reseed(settings: Settings, folder: Path) -> None:
    engine = make_engine(settings)
    try:
        load_seeds(make_sessionmaker(engine), folder)
    finally:
        engine.dispose()


def _edited_seeds(tmp_path: Path) -> Path:
    """A copy of seeds/ with one evidence text changed."""
    folder = tmp_path / "edited-seeds"
    shutil.copytree(SEEDS, folder)
    assessments = folder / "assessments.csv"
    text = assessments.read_text(encoding="utf-8")
    old = "The chart shows Serbia refused to provide training to Ukrainian troops."
    assert text.count(old) == 1
    assessments.write_text(
        text.replace(old, "The chart shows Serbia declined to train Ukrainian troops."),
        encoding="utf-8",
    )
    return folder


def _new_key(settings: Settings, scope: KeyScope = KeyScope.write) -> str:
    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine).begin() as session:
            _, plaintext = create_key(session, name=f"test-{scope.value}", scope=scope)
    finally:
        engine.dispose()
    return plaintext


def _without_accept(client: TestClient, url: str) -> httpx.Response:
    request = client.build_request("GET", url)
    del request.headers["accept"]
    assert "accept" not in request.headers
    response: httpx.Response = client.send(request)
    return response


def _links(response: httpx.Response) -> dict[str, tuple[str, dict[str, str]]]:
    """rel -> (path, query parameters) of each Link."""
    links: dict[str, tuple[str, dict[str, str]]] = {}
    for rel, link in response.links.items():
        assert rel is not None
        url = httpx.URL(link["url"])
        links[rel] = (url.path, dict(url.params))
    return links


# --- Negotiation and 406 ---------------------------------------------------------------


def test_unsupported_format_parameter_is_406(client: TestClient) -> None:
    for path in ("/positions", "/countries", "/countries/RS/assessments"):
        response = client.get(path, params={"format": "xml"})
        body = assert_problem(response, 406, NOT_ACCEPTABLE)
        assert "xml" in body["detail"], path


def test_ndjson_format_on_countries_is_406(client: TestClient) -> None:
    body = assert_problem(client.get("/countries", params={"format": "ndjson"}), 406)
    assert body["type"] == NOT_ACCEPTABLE
    response = client.get("/countries", headers={"Accept": "application/x-ndjson"})
    assert_problem(response, 406, NOT_ACCEPTABLE)


def test_accept_xml_is_406(client: TestClient) -> None:
    for path in ("/positions", "/countries", "/countries/RS/assessments"):
        response = client.get(path, headers={"Accept": "application/xml"})
        assert_problem(response, 406, NOT_ACCEPTABLE)


def test_accept_any_or_missing_gives_json(client: TestClient) -> None:
    for path in ("/positions", "/countries", "/countries/RS/assessments"):
        any_type = client.get(path, headers={"Accept": "*/*"})
        missing = _without_accept(client, path)
        for response in (any_type, missing):
            assert response.status_code == 200, path
            assert response.headers["content-type"] == "application/json", path
        assert any_type.json() == missing.json()


def test_accept_quality_order_is_respected(client: TestClient) -> None:
    prefers_json = client.get("/positions", headers={"Accept": "text/csv;q=0.5, application/json"})
    assert prefers_json.headers["content-type"] == "application/json"
    prefers_csv = client.get("/positions", headers={"Accept": "application/json;q=0.5, text/csv"})
    assert prefers_csv.headers["content-type"] == CSV_TYPE
    refuses_csv = client.get("/countries", headers={"Accept": "text/csv;q=0, */*;q=0.1"})
    assert refuses_csv.headers["content-type"] == "application/json"


def test_format_parameter_overrides_accept(client: TestClient) -> None:
    response = client.get(
        "/positions", params={"format": "csv"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == CSV_TYPE


# --- Pagination headers ----------------------------------------------------------------


def test_link_header_on_a_middle_page(client: TestClient) -> None:
    response = client.get("/countries", params={"limit": 2, "offset": 2})
    assert response.headers["x-total-count"] == "39"
    assert _links(response) == {
        "first": ("/countries", {"limit": "2", "offset": "0"}),
        "prev": ("/countries", {"limit": "2", "offset": "0"}),
        "next": ("/countries", {"limit": "2", "offset": "4"}),
        "last": ("/countries", {"limit": "2", "offset": "38"}),
    }


def test_link_header_on_the_first_page_has_no_prev(client: TestClient) -> None:
    response = client.get("/countries", params={"limit": 10})
    assert _links(response) == {
        "first": ("/countries", {"limit": "10", "offset": "0"}),
        "next": ("/countries", {"limit": "10", "offset": "10"}),
        "last": ("/countries", {"limit": "10", "offset": "30"}),
    }


def test_link_header_on_the_last_page_has_no_next(client: TestClient) -> None:
    response = client.get("/countries", params={"limit": 2, "offset": 38})
    assert response.headers["x-total-count"] == "39"
    assert _links(response) == {
        "first": ("/countries", {"limit": "2", "offset": "0"}),
        "prev": ("/countries", {"limit": "2", "offset": "36"}),
        "last": ("/countries", {"limit": "2", "offset": "38"}),
    }


def test_link_header_of_a_single_page(client: TestClient) -> None:
    response = client.get("/countries")
    assert response.headers["x-total-count"] == "39"
    assert _links(response) == {
        "first": ("/countries", {"limit": "50", "offset": "0"}),
        "last": ("/countries", {"limit": "50", "offset": "0"}),
    }


def test_link_header_keeps_the_other_query_parameters(client: TestClient) -> None:
    response = client.get(
        "/positions", params={"category": "training", "value": "no", "limit": 1, "offset": 1}
    )
    assert response.headers["x-total-count"] == "3"
    filters = {"category": "training", "value": "no", "limit": "1"}
    assert _links(response) == {
        "first": ("/positions", {**filters, "offset": "0"}),
        "prev": ("/positions", {**filters, "offset": "0"}),
        "next": ("/positions", {**filters, "offset": "2"}),
        "last": ("/positions", {**filters, "offset": "2"}),
    }


def test_following_next_links_walks_the_whole_catalogue(client: TestClient) -> None:
    codes: list[str] = []
    url: str | None = "/countries?limit=10"
    pages = 0
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        codes += [c["code"] for c in response.json()["items"]]
        url = response.links.get("next", {}).get("url")
        pages += 1
    assert pages == 4
    everything = client.get("/countries", params={"limit": 500}).json()["items"]
    assert codes == [c["code"] for c in everything]


def test_total_count_header_on_exports(client: TestClient) -> None:
    everything = client.get("/positions", params={"format": "csv"})
    assert everything.headers["x-total-count"] == "39"
    assert "link" not in everything.headers
    paged = client.get("/positions", params={"format": "ndjson", "limit": 10})
    assert paged.headers["x-total-count"] == "39"
    assert _links(paged)["next"] == (
        "/positions",
        {"format": "ndjson", "limit": "10", "offset": "10"},
    )
    assessments = client.get("/countries/RS/assessments")
    assert assessments.headers["x-total-count"] == "5"


# --- ETag, 304 and Cache-Control -------------------------------------------------------


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
    with _app_client(settings) as client:
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


def test_etag_changes_when_the_data_changes(
    client: TestClient, seeded_settings: Settings, tmp_path: Path
) -> None:
    url = "/countries/RS/assessments"
    old_tag = client.get(url).headers["etag"]
    old_stats_tag = client.get("/stats").headers["etag"]
    _reseed(seeded_settings, _edited_seeds(tmp_path))
    after = client.get(url, headers={"If-None-Match": old_tag})
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
    _reseed(seeded_settings, SEEDS)
    response = client.get("/positions", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["etag"] == etag


def test_etag_changes_after_an_api_write(client: TestClient, seeded_settings: Settings) -> None:
    key = _new_key(seeded_settings)
    old_tag = client.get("/positions").headers["etag"]
    response = client.post(
        "/assessments",
        json={
            "country": "DE",
            "category": "training",
            "value": "yes",
            "source": "us-europe-response-chart-2023",
            "as_of": "2023-03-02",
            "evidence": "Test evidence.",
        },
        headers={"Authorization": f"Bearer {key}"},
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
        ("/positions?category=training", 422),
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
    key = _new_key(settings)
    with _app_client(settings) as client:
        authorised = client.get("/positions", headers={"Authorization": f"Bearer {key}"})
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
    key = _new_key(settings)
    with _app_client(settings) as client:
        response = client.get("/positions", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200
        assert "public" not in response.headers["cache-control"]


def test_single_assessment_etag_is_the_one_if_match_needs(
    client: TestClient, seeded_settings: Settings
) -> None:
    key = _new_key(seeded_settings)
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


# --- HEAD ------------------------------------------------------------------------------


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


# --- gzip ------------------------------------------------------------------------------


def test_gzip_when_accepted_on_a_large_response(client: TestClient) -> None:
    response = client.get("/positions", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["vary"]
    assert int(response.headers["content-length"]) < len(response.content)
    assert response.json()["total"] == 39


def test_gzip_of_a_csv_export(client: TestClient) -> None:
    response = client.get("/positions?format=csv", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"] == CSV_TYPE
    assert "RS,SRB,Serbia,no,yes,yes,yes,\r\n" in response.text


def test_no_gzip_unless_accepted(client: TestClient) -> None:
    response = client.get("/positions", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(response.content))
    assert response.json()["total"] == 39


def test_tiny_responses_are_not_compressed(client: TestClient) -> None:
    response = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert response.content == b'{"status":"ok"}'


# --- CORS ------------------------------------------------------------------------------


def test_cors_default_allows_any_origin_to_read(client: TestClient) -> None:
    response = client.get("/countries", headers={"Origin": OTHER_ORIGIN})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"etag", "link", "x-total-count"} <= exposed


def test_cors_headers_on_a_304(client: TestClient) -> None:
    etag = client.get("/countries").headers["etag"]
    response = client.get("/countries", headers={"Origin": OTHER_ORIGIN, "If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["access-control-allow-origin"] == "*"


def test_cors_preflight_for_get_is_allowed(client: TestClient) -> None:
    response = client.options(
        "/positions",
        headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    allowed = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert allowed == {"GET", "HEAD"}


def test_cors_preflight_for_post_is_refused(client: TestClient) -> None:
    response = client.options(
        "/assessments",
        headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 400
    assert "POST" not in response.headers.get("access-control-allow-methods", "")


def test_cors_preflight_refusal_is_a_problem(client: TestClient) -> None:
    # STYLE §5: every non-2xx body is application/problem+json.
    response = client.options(
        "/assessments",
        headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert_problem(response, 400)


@pytest.fixture
def one_origin_client(seeded_settings: Settings) -> Iterator[TestClient]:
    settings = seeded_settings.model_copy(update={"cors_origins": [ORIGIN]})
    with _app_client(settings) as client:
        yield client


def test_cors_restricted_to_the_configured_origin(one_origin_client: TestClient) -> None:
    allowed = one_origin_client.get("/countries", headers={"Origin": ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in allowed.headers["vary"]
    other = one_origin_client.get("/countries", headers={"Origin": OTHER_ORIGIN})
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers
    preflight = one_origin_client.options(
        "/countries",
        headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_disabled_with_no_origins(seeded_settings: Settings) -> None:
    settings = seeded_settings.model_copy(update={"cors_origins": []})
    with _app_client(settings) as client:
        response = client.get("/countries", headers={"Origin": OTHER_ORIGIN})
        assert response.status_code == 200
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]
        preflight = client.options(
            "/countries",
            headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "GET"},
        )
        assert_problem(preflight, 405)
        assert not [h for h in preflight.headers if h.lower().startswith("access-control-")]


# --- The chart page --------------------------------------------------------------------


def test_chart_page_is_html_with_an_etag(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text.startswith("<!doctype html>")
    assert '<script src="/static/chart.js" defer></script>' in response.text
    etag = response.headers["etag"]
    assert response.headers["cache-control"] == DEFAULT_CACHE_CONTROL
    assert client.get("/", headers={"If-None-Match": etag}).status_code == 304


def test_chart_page_etag_does_not_follow_the_data(
    client: TestClient, seeded_settings: Settings, tmp_path: Path
) -> None:
    etag = client.get("/").headers["etag"]
    _reseed(seeded_settings, _edited_seeds(tmp_path))
    assert client.get("/", headers={"If-None-Match": etag}).status_code == 304


def test_chart_script_is_served(client: TestClient) -> None:
    response = client.get("/static/chart.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == DEFAULT_CACHE_CONTROL
    assert "/positions" in response.text
    etag = response.headers["etag"]
    assert client.get("/static/chart.js", headers={"If-None-Match": etag}).status_code == 304


def test_static_asset_not_modified_keeps_etag_and_cache_control(client: TestClient) -> None:
    # RFC 9110 §15.4.5: a 304 carries the ETag and Cache-Control the 200 would have.
    later = "Fri, 01 Jan 2100 00:00:00 GMT"
    response = client.get("/static/chart.js", headers={"If-Modified-Since": later})
    full = client.get("/static/chart.js")
    assert full.status_code == 200
    assert response.status_code == 304
    assert response.headers["etag"] == full.headers["etag"]
    assert response.headers["cache-control"] == DEFAULT_CACHE_CONTROL


def test_missing_static_asset_is_404_problem(client: TestClient) -> None:
    response = client.get("/static/no-such-file.js")
    assert_problem(response, 404)
    assert response.headers["cache-control"] == "no-store"
